// Starts bench/lib/bare-proxy.mjs (the BENCH_BARE=1 reference column) and learns its port.
import { spawn } from 'node:child_process';

export function startBare(script, node = process.execPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (d) => {
      const port = Number(/listening (\d+)/.exec(String(d))?.[1]);
      child.stdout.resume(); // nothing more is printed; keep the pipe drained anyway
      resolve({ name: 'bare node', pid: child.pid, via: { host: '127.0.0.1', port }, stop: async () => { child.kill('SIGKILL'); } });
    });
    child.once('exit', (code) => reject(new Error(`bare proxy exited (${code})`)));
  });
}
