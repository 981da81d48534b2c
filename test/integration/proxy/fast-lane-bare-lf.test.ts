import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// A head with bare LF line endings on the fast lane (src/proxy/lane-connection.ts): its end is
// never CRLF CRLF, so the lane must hand it to node:http (400 at once) rather than wait for the
// rest of a head that will not come (408 at the header timeout).

describe('a bare-LF head on the fast lane', () => {
  let origin: Origin;
  let proxy: StartedProxy;
  const decider = createFakeDecider();

  beforeAll(async () => {
    origin = await startOrigin();
    // A header timeout well past how long a 400 takes, so a 408 can only mean the head was waited for.
    proxy = await startProxy({ decider, resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }), limits: { headerTimeoutMs: 10_000 } });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  async function expectBadRequest(client: RawClient): Promise<void> {
    const before = decider.calls.length;
    const seen = origin.requests.length;
    const reply = await client.readResponse();
    expect([reply.status, reply.headers['x-kaizen-error']]).toEqual([400, 'KZP_ERR_BAD_REQUEST']);
    await client.closed;
    expect(decider.calls.length).toBe(before);
    expect(origin.requests.length).toBe(seen);
  }

  it('answers 400 to a bare-LF head sent in one write on a fresh connection', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${origin.url}/echo HTTP/1.1\nHost: x\n\n`);
    await expectBadRequest(client);
  });

  it('answers 400 to a head whose lines end in CRLF until a bare LF ends it', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${origin.url}/echo HTTP/1.1\r\nHost: x\r\n\n`);
    await expectBadRequest(client);
  });

  it('answers 400 to a bare-LF head split across writes, a CR ending the first', async () => {
    const client = await RawClient.open(proxy.port);
    // The first part alone is a well-formed start; its CR pairs with the next write's LF.
    client.write(`GET ${origin.url}/echo HTTP/1.1\r`);
    client.write('\nHost: x\n');
    client.write('\n');
    await expectBadRequest(client);
  });

  it('answers 400 to a bare-LF head on a keep-alive connection after a good request', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${origin.url}/good HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    const good = await client.readResponse();
    expect(good.status).toBe(200);
    expect(good.headers['connection']).toBe('keep-alive');
    client.write(`GET ${origin.url}/echo HTTP/1.1\nHost: x\n`);
    client.write('\n');
    await expectBadRequest(client);
  });
});
