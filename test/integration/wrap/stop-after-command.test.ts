import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { startTcpOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { OPEN_LOOPBACK, startWrapper } from './run-wrapper.js';

/** How the wrapper's proxy stops once the command has exited: nobody is left to drain for. */
describe('wrap mode stop', () => {
  it('a tunnel still open when the command exits is closed at once, not after drain_timeout', async () => {
    const drainMs = 30_000;
    const dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-stop-'));
    const tcp = await startTcpOrigin();
    try {
      const config = join(dir, 'drain.yaml');
      await writeFile(config, 'limits: { drain_timeout: 30s }\n');
      // The command says where its proxy is, then waits for SIGUSR2 (not forwarded: it comes from the test) to exit 0.
      const script = 'process.on("SIGUSR2", () => process.exit(0)); process.stdout.write(`${process.pid} ${process.env.HTTPS_PROXY}\\n`); setInterval(() => {}, 1000);';
      const wrapper = startWrapper(['-c', config, ...OPEN_LOOPBACK, '--', 'node', '-e', script]);
      await wrapper.waitForStdout('\n');
      const [pid, proxyUrl] = wrapper.stdout().trim().split(' ');
      const tunnel = await RawClient.open(Number(new URL(proxyUrl ?? '').port));
      tunnel.write(`CONNECT 127.0.0.1:${String(tcp.port)} HTTP/1.1\r\n\r\n`);
      expect(await tunnel.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);

      const exitedAt = performance.now();
      process.kill(Number(pid), 'SIGUSR2');
      await tunnel.closed;
      const run = await wrapper.output;
      expect(run.code).toBe(0);
      expect(performance.now() - exitedAt).toBeLessThan(drainMs / 3);
    } finally {
      await tcp.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
