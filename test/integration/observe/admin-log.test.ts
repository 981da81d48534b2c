import { request } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminServer, type AdminServer } from '../../../src/observe/admin-server.js';
import { createLogger } from '../../../src/observe/logger.js';
import { Readiness } from '../../../src/observe/readiness.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A failed admin request is logged with its path, never the query it came with. */
describe('admin request failures in the log', () => {
  const logs = new CapturedLogs();
  let admin: AdminServer;
  let port: number;

  beforeAll(async () => {
    const registry = new Registry();
    // A metric whose collection fails: /metrics then fails as a broken collector would make it.
    new Gauge({
      name: 'kzp_test_failing',
      help: 'fails to collect',
      registers: [registry],
      collect() {
        throw new Error('collection failed');
      },
    });
    const readiness = new Readiness(() => ({ status: 'none' }), () => []);
    admin = createAdminServer({ readiness, registry, logger: createLogger({ level: 'info', destination: logs }) });
    port = (await admin.listen('127.0.0.1', 0)).port;
  });
  afterAll(async () => {
    await admin.close();
  });

  it('logs /metrics without ?token=…', async () => {
    expect(await get(port, '/metrics?token=ADMINSECRET')).toBe(500);
    const line = await logs.waitFor((l) => l.msg === 'admin request failed');
    expect(line['path']).toBe('/metrics');
    expect(logs.text).not.toContain('ADMINSECRET');
  });
});
