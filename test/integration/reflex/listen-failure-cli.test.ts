import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';

/**
 * `serve` binds the proxy, then the transparent, then the admin listener: when one is taken, the
 * start-up error names that one and its address, not the proxy's.
 */
let taken: Server;
let takenPort: number;

beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const address = taken.address();
  takenPort = typeof address === 'object' && address !== null ? address.port : 0;
});

afterAll(async () => {
  await new Promise<void>((resolve) => taken.close(() => { resolve(); }));
});

describe('a listener that cannot bind', () => {
  it('names the admin listener and its address, exit 3', async () => {
    const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--admin', `127.0.0.1:${String(takenPort)}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`kaizen-proxy: cannot listen on 127.0.0.1:${String(takenPort)}, the admin address (EADDRINUSE)\n`);
  });

  it('names the transparent listener and its address', async () => {
    const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--admin', 'off', '--transparent', `127.0.0.1:${String(takenPort)}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`kaizen-proxy: cannot listen on 127.0.0.1:${String(takenPort)}, the transparent address (EADDRINUSE)\n`);
  });
});
