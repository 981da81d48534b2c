import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, startTcpOrigin, type Origin, type TcpOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// CONNECT and the fast lane (src/proxy/fast-lane.ts): a CONNECT head the lane takes goes straight to
// the tunnel handler with the bytes after it; one it does not take goes to node:http, whose
// 'connect' event reaches the same handler. Either way, first request or after lane requests on
// the same connection, the tunnel carries every byte. The TCP origin answers `<bytes> <sha256>` of
// what it read once the client's FIN is in.

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

function sha256(text: string): string {
  return createHash('sha256').update(text, 'latin1').digest('hex');
}

function echoed(text: string): string {
  return `${Buffer.byteLength(text, 'latin1')} ${sha256(text)}`;
}

describe('CONNECT through the fast lane', () => {
  let tcp: TcpOrigin;
  let origin: Origin;
  let proxy: StartedProxy;
  const decider = createFakeDecider({ block: ['blocked.test'] });

  beforeAll(async () => {
    [tcp, origin] = await Promise.all([startTcpOrigin(), startOrigin()]);
    proxy = await startProxy({ decider, resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }) });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), tcp.close(), origin.close()]);
  });

  function connect(version = '1.1', extra = ''): string {
    return `CONNECT 127.0.0.1:${tcp.port} HTTP/${version}\r\nHost: 127.0.0.1:${tcp.port}\r\n${extra}\r\n`;
  }

  function get(path: string): string {
    return `GET ${origin.url}${path} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`;
  }

  it.each([
    ['HTTP/1.1', '1.1', ''],
    ['HTTP/1.0', '1.0', ''],
    ['HTTP/1.1 with two Host lines (left to node:http)', '1.1', 'Host: 127.0.0.1\r\n'],
  ])('tunnels a first-request CONNECT in %s, bytes sent with its head first', async (_name, version, extra) => {
    const client = await RawClient.open(proxy.port);
    client.write(`${connect(version, extra)}early `);
    expect(await client.readUntil('\r\n\r\n')).toBe(ESTABLISHED);
    client.write('and late bytes');
    client.end();
    expect(await client.readToEnd()).toBe(echoed('early and late bytes'));
  });

  it('tunnels a CONNECT whose head, early bytes and FIN come in one write', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`${connect()}all at once`);
    client.end();
    expect(await client.readToEnd()).toBe(`${ESTABLISHED}${echoed('all at once')}`);
  });

  it('tunnels a CONNECT after a lane GET on the same connection', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(get('/before-connect'));
    const answer = await client.readResponse();
    expect([answer.status, answer.headers['connection']]).toEqual([200, 'keep-alive']);
    client.write(connect());
    expect(await client.readUntil('\r\n\r\n')).toBe(ESTABLISHED);
    client.write('after a GET');
    client.end();
    expect(await client.readToEnd()).toBe(echoed('after a GET'));
  });

  it('answers a GET pipelined before a CONNECT and early bytes in one write, then tunnels them', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`${get('/pipelined-before-connect')}${connect()}pipelined early bytes`);
    const answer = await client.readResponse();
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.body) as { url: string }).url).toBe('/pipelined-before-connect');
    expect(await client.readUntil('\r\n\r\n')).toBe(ESTABLISHED);
    client.end();
    expect(await client.readToEnd()).toBe(echoed('pipelined early bytes'));
  });

  it.each([
    // The lane leaves both to node:http, whose parser (llhttp) lets a CONNECT through in either.
    ['with no HTTP version (HTTP/0.9)', (port: number): string => `CONNECT 127.0.0.1:${port}\r\n\r\n`],
    ['in HTTP/2.0', (port: number): string => `CONNECT 127.0.0.1:${port} HTTP/2.0\r\nHost: 127.0.0.1:${port}\r\n\r\n`],
  ])('answers 400 to a CONNECT %s and closes, the destination untouched', async (_name, head) => {
    const before = tcp.connections;
    const mark = proxy.logs.lines.length;
    const client = await RawClient.open(proxy.port);
    client.write(`${head(tcp.port)}hi`);
    const refused = await client.readResponse();
    expect(refused.status).toBe(400);
    expect(refused.headers['connection']).toBe('close');
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'KZP_ERR_BAD_REQUEST', message: 'HTTP version not supported' });
    expect(await client.readToEnd()).toBe('');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && proxy.logs.lines.indexOf(line) >= mark);
    expect(closed).toMatchObject({ kind: 'connect', status: 400, code: 'KZP_ERR_BAD_REQUEST' });
    expect(tcp.connections).toBe(before);
  });

  it('refuses a blocked CONNECT 403 with its reason, then closes, the destination untouched', async () => {
    const before = tcp.connections;
    const client = await RawClient.open(proxy.port);
    client.write(`CONNECT blocked.test:${tcp.port} HTTP/1.1\r\nHost: blocked.test:${tcp.port}\r\n\r\n`);
    const denied = await client.readResponse();
    expect(denied.status).toBe(403);
    expect(denied.headers['x-kaizen-decision']).toBe('block');
    expect(JSON.parse(denied.body)).toMatchObject({ error: 'KZP_ERR_BLOCKED', target: `blocked.test:${tcp.port}` });
    expect(await client.readToEnd()).toBe('');
    expect(tcp.connections).toBe(before);
  });
});
