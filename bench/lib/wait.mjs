import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll a TCP connect until it succeeds (the server is accepting) or the deadline passes. */
export async function waitForPort(host, port, { timeoutMs = 15_000, isDead = () => null } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    const dead = isDead();
    if (dead) throw new Error(dead);
    if (Date.now() > deadline) throw new Error(`${host}:${port} not accepting after ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** A port that was free a moment ago (Squid needs its port in the config file). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
