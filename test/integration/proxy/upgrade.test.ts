import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

function upgradeRequest(url: string, extra = ''): string {
  return (
    `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

describe('Upgrade (WebSocket-style) requests', () => {
  let origin: Origin;
  let proxy: StartedProxy;
  const decider = createFakeDecider({ block: ['blocked.test'] });

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ decider });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('decides the upgrade, then tunnels the 101 and bytes both ways', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(upgradeRequest(`${origin.url}/socket?ticket=ws-secret`, 'Proxy-Authorization: Basic c2VjcmV0\r\n'));
    const head = await client.readUntil('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(head).toContain('\r\nUpgrade: websocket\r\n');
    expect(head.toLowerCase()).not.toContain('x-kaizen-');
    client.write('ping-frame');
    expect(await client.readBytes('ping-frame'.length)).toBe('ping-frame');
    client.end();
    await client.closed;

    const seen = origin.requests.find((request) => request.url === '/socket?ticket=ws-secret');
    expect(seen?.headers).toMatchObject({ upgrade: 'websocket', connection: 'Upgrade', host: `127.0.0.1:${origin.port}`, 'sec-websocket-version': '13' });
    expect(seen?.headers).not.toHaveProperty('proxy-authorization');
    const call = decider.calls.find((request) => request.action.metadata.path === '/socket');
    expect(call?.action).toMatchObject({ kind: 'http', target: `127.0.0.1:${origin.port}`, metadata: { method: 'GET', scheme: 'ws' } });
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade');
    expect(closed).toMatchObject({ status: 101, bytes_up: 'ping-frame'.length });
    expect(proxy.logs.text).not.toContain('ws-secret');
  });

  it('refuses a blocked upgrade with 403 and never reaches the origin', async () => {
    const before = origin.connections;
    const client = await RawClient.open(proxy.port);
    client.write(upgradeRequest(`http://blocked.test:${origin.port}/socket`));
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 403 /);
    expect(reply).toContain('"error":"KZP_ERR_BLOCKED"');
    expect(origin.connections).toBe(before);
  });

  it('answers an origin-form upgrade with 400', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('GET /socket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain('KZP_ERR_ORIGIN_FORM');
  });
});
