import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange } from '../../helpers/raw-client.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cleanEnv, startServe, tempDir, writeFile } from '../reflex/cli-process.js';

/**
 * The observed record's folder is the data_dir resolved when the proxy starts. A relative one was
 * made relative to the working directory at each write; once that directory was removed under a
 * running proxy, Node's recursive mkdir went back and forth between the folder and its parent for
 * ever (1,700 failing mkdir calls a second, one core busy) and the record was never written.
 */
describe('observed record, working directory removed', () => {
  let origin: Origin;
  beforeAll(async () => {
    origin = await startOrigin();
  });
  afterAll(async () => {
    await origin.close();
  });

  it('is still written, under the folder the proxy started in, and the proxy still stops', async () => {
    const dir = tempDir();
    const config = writeFile(tempDir(), 'kaizen-proxy.yaml', 'admin: off\nobserved: { flush_interval: 50ms }\n');
    const serve = await startServe(['--listen', '127.0.0.1:0', '--config', config, '--allow-private', '127.0.0.0/8'], cleanEnv(), dir);
    try {
      rmSync(dir, { recursive: true, force: true });
      const answer = await rawExchange(serve.port, `GET ${origin.url}/x HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\nConnection: close\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      // Stopping writes the record at close; a write stuck in mkdir would keep the proxy from exiting.
      expect(await serve.stop()).toBe(0);
      expect(existsSync(join(dir, '.kaizen-proxy', 'observed', 'egress-agent.json'))).toBe(true);
    } finally {
      await serve.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
