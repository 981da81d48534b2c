// Each measurement runs in its own process (the load client must not share a CPU queue with
// the driver, the fake control plane or the servers). The driver forks the measurement file
// with its options; the file calls childMain(measure) and answers with one result message.
// `ctx.checkpoint(name, data)` lets a measurement pause while the driver samples the proxy
// (idle-tunnel RSS) and resume when the driver acknowledges.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function isMain(importMetaUrl) {
  return process.argv[1] !== undefined && fileURLToPath(importMetaUrl) === process.argv[1];
}

export function childMain(measure) {
  const opts = JSON.parse(process.argv[2] ?? '{}');
  const pending = new Map();
  process.on('message', (msg) => {
    if (msg && msg.type === 'ack') {
      pending.get(msg.name)?.(msg.data);
      pending.delete(msg.name);
    }
  });
  const ctx = {
    checkpoint: (name, data) =>
      new Promise((resolve) => {
        pending.set(name, resolve);
        const cpu = process.cpuUsage();
        process.send({ type: 'checkpoint', name, data, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
      }),
  };
  measure(opts, ctx).then(
    (result) => {
      const cpu = process.cpuUsage();
      process.send({ type: 'result', result: { ...result, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 } }, () => process.exit(0));
    },
    (err) => {
      process.send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }, () => process.exit(1));
    },
  );
}

/** Fork `file` with `opts`; resolve with its result. `onCheckpoint(name, data)` may return data for the ack. */
export function runChild(file, opts, { onCheckpoint, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(file, [JSON.stringify(opts)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    const clientCpu = {};
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`${file}: no result within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', async (msg) => {
      if (msg.type === 'checkpoint') {
        clientCpu[msg.name] = msg.cpuSeconds;
        const data = onCheckpoint ? await onCheckpoint(msg.name, msg.data) : undefined;
        child.send({ type: 'ack', name: msg.name, data });
      } else if (msg.type === 'result' || msg.type === 'error') {
        settled = true;
        clearTimeout(timer);
        if (msg.type === 'result') {
          const windowCpu = clientCpu.start !== undefined && clientCpu.end !== undefined ? clientCpu.end - clientCpu.start : undefined;
          resolve(windowCpu === undefined ? msg.result : { ...msg.result, clientWindowCpuSeconds: windowCpu });
        } else reject(new Error(msg.message));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(new Error(`${file} exited (${code ?? signal}) without a result`));
      }
    });
  });
}
