import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * An upgrade request names its expectations like any request: one other than 100-continue is
 * answered 417 KZP_ERR_EXPECTATION, neither decided nor forwarded, as node:http's
 * 'checkExpectation' requests are (http-forward.ts). node:http hands an upgrade over before that
 * check, so before, `Expect: x-realtime` on a WebSocket upgrade reached the destination and was tunnelled.
 */
describe('Expect on an upgrade request', () => {
  let origin: HeadOrigin;
  let proxy: StartedProxy;
  const heads: string[] = [];
  const decider = createFakeDecider();

  beforeAll(async () => {
    origin = await headOrigin((socket, head) => {
      heads.push(head);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\ntunnel-bytes');
    });
    proxy = await startProxy({ decider });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  function upgradeHead(path: string, expectation: string): string {
    const host = `127.0.0.1:${String(origin.port)}`;
    return (
      `GET http://${host}${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nExpect: ${expectation}\r\n\r\n`
    );
  }

  it('answers an Expect other than 100-continue 417 KZP_ERR_EXPECTATION, neither decided nor forwarded', async () => {
    const calls = decider.calls.length;
    const client = await RawClient.open(proxy.port);
    client.write(upgradeHead('/unmet', 'x-realtime'));
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 417 /);
    expect(reply).toContain('X-Kaizen-Error: KZP_ERR_EXPECTATION');
    expect(reply).not.toContain('tunnel-bytes');
    expect(heads.some((head) => head.startsWith('GET /unmet '))).toBe(false);
    expect(decider.calls.length).toBe(calls);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['status'] === 417);
    expect(closed).toMatchObject({ code: 'KZP_ERR_EXPECTATION', target: `127.0.0.1:${String(origin.port)}` });
  });

  it('takes 100-continue, the expectation it can meet, and tunnels', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(upgradeHead('/continue', '100-continue'));
    expect(await client.readUntil('tunnel-bytes')).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    client.destroy();
    await client.closed;
    expect(heads.some((head) => head.startsWith('GET /continue '))).toBe(true);
  });
});
