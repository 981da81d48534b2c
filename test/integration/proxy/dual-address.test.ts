import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolution } from '../../../src/contract/decision.js';
import type { Target } from '../../../src/contract/target.js';
import { dial } from '../../../src/net/dial.js';
import { startBlackhole, type Blackhole } from '../../helpers/blackhole.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A name with two addresses whose first swallows SYNs (a dual-stack name without an IPv6 route,
 * played by 127.0.0.2 with a full accept queue): tunnels and plain requests reach the second
 * address after one attempt delay instead of failing on the connect timeout.
 */
describe('a destination whose first address never answers', () => {
  let origin: Origin;
  let blackhole: Blackhole;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await startOrigin();
    blackhole = await startBlackhole('127.0.0.2', origin.port);
    const resolve = (target: Target): Promise<Resolution> =>
      Promise.resolve(
        target.host === 'dual.test'
          ? { ok: true, addresses: ['127.0.0.2', '127.0.0.1'] }
          : target.host === 'dual6.test'
            ? { ok: true, addresses: ['::1', '127.0.0.1'] }
            : { ok: false, code: 'KZP_ERR_DNS', message: 'lookup failed: ENOTFOUND' },
      );
    // A connect timeout longer than the test's: only the staggered second attempt can answer in time.
    proxy = await startProxy({ decider: createFakeDecider({}), resolve, network: { connectTimeoutMs: 120_000 } });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close(), blackhole.close()]);
  });

  it('tunnels to the address that answers', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`CONNECT dual.test:${origin.port} HTTP/1.1\r\nHost: dual.test:${origin.port}\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    client.write(`GET /hello HTTP/1.1\r\nHost: dual.test\r\nConnection: close\r\n\r\n`);
    expect((await client.readResponse()).status).toBe(200);
    client.socket.destroy();
  });

  it('reaches IPv4 when the IPv6 address of a dual-stack name swallows SYNs', async () => {
    const v6 = await startBlackhole('::1', origin.port);
    try {
      // The premise: [::1]:port swallows SYNs (it does not refuse them).
      expect(await dial(['::1'], origin.port, { connectTimeoutMs: 300 })).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_TIMEOUT', aborted: false });
      const client = await RawClient.open(proxy.port);
      client.write(`CONNECT dual6.test:${origin.port} HTTP/1.1\r\nHost: dual6.test:${origin.port}\r\n\r\n`);
      expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
      client.socket.destroy();
    } finally {
      await v6.close();
    }
  });

  it('forwards a plain request to the address that answers', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET http://dual.test:${origin.port}/plain HTTP/1.1\r\nHost: dual.test\r\n\r\n`);
    expect((await client.readResponse()).status).toBe(200);
    expect(origin.requests.some((seen) => seen.url === '/plain')).toBe(true);
    client.socket.destroy();
  });
});
