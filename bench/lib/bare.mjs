// Starts a reference proxy script and learns its port: bench/lib/bare-proxy.mjs (the BENCH_BARE=1
// column, "bare node") or bench/lib/raw-floor-proxy.mjs (BENCH_RAW=1, "raw node").
import { spawn } from 'node:child_process';

export function startBare(script, node = process.execPath, name = 'bare node') {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (d) => {
      const port = Number(/listening (\d+)/.exec(String(d))?.[1]);
      child.stdout.resume(); // nothing more is printed; keep the pipe drained anyway
      resolve({ name, pid: child.pid, via: { host: '127.0.0.1', port }, stop: async () => { child.kill('SIGKILL'); } });
    });
    child.once('exit', (code) => reject(new Error(`${name} proxy exited (${code})`)));
  });
}
