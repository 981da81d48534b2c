// kaizen-proxy as the bench runs it: the built CLI, a random loopback port, the fake control
// plane, 127.0.0.0/8 opened for the local targets, decision logging ON. Its stdout goes straight
// to a file (no pipe for the bench to drain and no back-pressure on the proxy); the file is
// polled for the "listening" line to learn the bound address.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { freePort, sleep, waitForPort } from './wait.mjs';

export function kaizenCli(root) {
  const cli = `${root}/dist/cli.js`;
  return existsSync(cli) ? cli : null;
}

/**
 * The admin listener (/metrics) defaults to the fixed port 127.0.0.1:9901, which any other
 * kaizen-proxy on this machine (a test run, an `npm start`) may hold: keep it on, as shipped,
 * but on a free port.
 */
function adminArgs(cli) {
  try {
    const help = execFileSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return help.includes('--admin') ? ['--admin', '127.0.0.1:0'] : [];
  } catch {
    return [];
  }
}

export const SHIPPED_GLIBC_TUNABLES = 'glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=67108864';
/** The node flags npm start and the image start kaizen-proxy with (see src/cli.ts). */
export const SHIPPED_NODE_FLAGS = ['--no-memory-reducer'];

/**
 * `stdoutFd`: the proxy's stdout when it is not `logFile` itself (log-sink.mjs: a FIFO whose reader
 * copies it to `logFile`, which is polled as usual); the caller closes it.
 */
export async function startKaizen(cli, { controlPlaneUrl, logFile, nodeArgs = [], logLevel = 'info', timeoutMs = 15_000, node = process.execPath, stdoutFd = null }) {
  // Above info the "listening" line is not logged (profile.mjs compares log levels): then pick
  // the port here and poll it instead.
  const quietPort = ['info', 'debug', 'trace'].includes(logLevel) ? null : await freePort();
  const fd = stdoutFd ?? openSync(logFile, 'w');
  const child = spawn(
    node,
    [...SHIPPED_NODE_FLAGS, ...nodeArgs, cli, 'serve', '--listen', `127.0.0.1:${quietPort ?? 0}`, '--allow-private', '127.0.0.0/8', '--log-level', logLevel, ...adminArgs(cli)],
    {
      stdio: ['ignore', fd, 'pipe'],
      // The same malloc tunables the image and `npm start` ship with (see the Dockerfile): without
      // them glibc trims and regrows its heap around every 64 KiB socket read (~190k page faults a GiB).
      env: { ...process.env, GLIBC_TUNABLES: SHIPPED_GLIBC_TUNABLES, KAIZEN_API_KEY: 'bench-key', KAIZEN_API_URL: controlPlaneUrl, NODE_ENV: 'production' },
    },
  );
  if (stdoutFd === null) closeSync(fd);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let exited = null;
  const gone = new Promise((resolve) => child.once('exit', (code, signal) => {
    exited = `kaizen-proxy exited (${code ?? signal}): ${stderr.trim().slice(-2000)}`;
    resolve();
  }));
  const deadline = Date.now() + timeoutMs;
  let via = null;
  let noAccount = false;
  if (quietPort !== null) {
    await waitForPort('127.0.0.1', quietPort, { timeoutMs, isDead: () => exited });
    via = { host: '127.0.0.1', port: quietPort };
  }
  while (!via) {
    if (exited) throw new Error(`${exited}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kaizen-proxy did not log "listening" within ${timeoutMs} ms; log: ${readFileSync(logFile, 'utf8').slice(-2000)} ${stderr}`);
    }
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.includes('"listening"')) continue;
      try {
        const rec = JSON.parse(line);
        if (rec.msg === 'listening' && typeof rec.proxy === 'string') {
          const i = rec.proxy.lastIndexOf(':');
          via = { host: rec.proxy.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(rec.proxy.slice(i + 1)) };
        }
      } catch {
        // a partial line: read again
      }
    }
    if (!via) await sleep(20);
  }
  noAccount = /without an account/i.test(readFileSync(logFile, 'utf8'));
  return {
    name: 'kaizen-proxy',
    pid: child.pid,
    via,
    logFile,
    noAccount,
    stderr: () => stderr,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(3000)]);
      if (!exited) {
        child.kill('SIGKILL');
        await gone;
      }
    },
  };
}

/**
 * kaizen-proxy on its own configuration file (`serve -c config`), for the benches that need more
 * than startKaizen's flags (intercept.mjs, policy-sync.mjs): stdout to `logFile`, polled for the
 * "listening" line; its proxy and admin addresses.
 */
export async function startKaizenWithConfig({ cli, config, logFile, env, node = process.execPath, nodeArgs = [], timeoutMs = 30_000 }) {
  const child = spawn(node, [...nodeArgs, cli, 'serve', '-c', config], { stdio: ['ignore', openSync(logFile, 'w'), 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) {
      const { proxy, admin } = JSON.parse(line);
      const [host, port] = proxy.split(':');
      return { child, host, port: Number(port), adminPort: Number(admin.split(':')[1]) };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`kaizen-proxy did not start: ${stderr.slice(-500)}`);
    await sleep(25);
  }
}
