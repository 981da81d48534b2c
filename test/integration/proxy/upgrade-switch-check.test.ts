import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A `101` switches the connection to the protocol its `Upgrade` names, so it is tunnelled only when
 * that is the protocol the client asked for (RFC 9110 §7.8: a server MUST NOT switch to one the
 * client did not indicate), with `Connection: Upgrade`, as Go's ReverseProxy checks ("backend
 * tried to switch protocol %q when %q was requested", 502). Before, any 101 was tunnelled: an origin
 * that switched to h2c, or to nothing named, got raw bytes both ways with the client.
 */
const ANSWERS: Readonly<Record<string, string>> = {
  h2c: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
  'no-upgrade': 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n',
  'no-connection': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n',
  'two-protocols': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
  'other-case': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, upgrade\r\n\r\n',
  // To a request that asked for no upgrade (or whose h2c Upgrade the proxy dropped), then an answer
  // whose body is what follows: a 101 skipped like an interim answer would pass that answer on.
  'switch-anyway': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n',
};

describe('a 101 answer is checked against the Upgrade asked for', () => {
  let origin: HeadOrigin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await headOrigin((socket, head) => {
      const name = /^GET \/(\S+) /.exec(head)?.[1] ?? '';
      socket.write(`${ANSWERS[name] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'}tunnel-bytes`);
    });
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  async function upgrade(name: string, tunnelled: boolean): Promise<string> {
    const client = await RawClient.open(proxy.port);
    const host = `127.0.0.1:${String(origin.port)}`;
    client.write(
      `GET http://${host}/${name} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const received = tunnelled ? await client.readUntil('tunnel-bytes') : await client.readToEnd();
    client.destroy();
    return received;
  }

  it.each(['h2c', 'no-upgrade', 'no-connection', 'two-protocols'])('%s: answered 502 KZP_ERR_UPSTREAM_PROTOCOL, never tunnelled', async (name) => {
    const received = await upgrade(name, false);
    expect(received).toMatch(/^HTTP\/1\.1 502 /);
    expect(received).toContain('X-Kaizen-Error: KZP_ERR_UPSTREAM_PROTOCOL');
    expect(received).not.toContain('tunnel-bytes');
    expect(received).not.toContain('101');
    const closed = await proxy.logs.waitFor(
      (line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['status'] === 502 && line['code'] === 'KZP_ERR_UPSTREAM_PROTOCOL',
    );
    expect(closed).toMatchObject({ bytes_up: 0, bytes_down: 0 });
  });

  it.each([
    ['a plain GET', ''],
    ['an h2c upgrade, its Upgrade dropped', 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n'],
  ])('a 101 to %s is answered 502 KZP_ERR_UPSTREAM_PROTOCOL, neither tunnelled nor skipped', async (_name, fields) => {
    const client = await RawClient.open(proxy.port);
    const host = `127.0.0.1:${String(origin.port)}`;
    client.write(`GET http://${host}/switch-anyway HTTP/1.1\r\nHost: ${host}\r\n${fields}\r\n`);
    const response = await client.readResponse();
    client.destroy();
    expect(response.status).toBe(502);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_PROTOCOL');
    expect(response.body).not.toContain('tunnel-bytes');
  });

  it('a 101 naming the asked-for protocol in another case, Connection listing upgrade among others, is tunnelled', async () => {
    const received = await upgrade('other-case', true);
    expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(received.endsWith('\r\n\r\ntunnel-bytes')).toBe(true);
  });
});
