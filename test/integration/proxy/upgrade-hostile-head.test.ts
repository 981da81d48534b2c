import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A `101 Switching Protocols` head reaches the client as it came (only `X-Kaizen-*` lines taken
 * out), so it must be one every parser reads the same. A destination an agent was steered to
 * hid a forged `X-Kaizen-Decision` behind a bare LF: the proxy's line-wise filter saw one line,
 * Go's reader (gorilla and nhooyr WebSocket clients) two. Such heads, and ones with control
 * characters or folded lines, are answered 502 and never tunnelled.
 */
const HEADS: Readonly<Record<string, string>> = {
  'bare-lf': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\nX-Kaizen-Decision: block\r\n\r\n',
  nul: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Note: a\x00b\r\n\r\n',
  'bare-cr': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\rX-Kaizen-Decision: block\r\nConnection: Upgrade\r\n\r\n',
  folded: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n X-Kaizen-Decision: block\r\n\r\n',
  clean: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Kaizen-Decision: block\r\n\r\n',
};

describe('a hostile 101 head', () => {
  let origin: HeadOrigin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await headOrigin((socket, head) => {
      const name = /^GET \/(\S+) /.exec(head)?.[1] ?? '';
      socket.write(`${HEADS[name] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'}tunnel-bytes`);
    });
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  async function upgrade(name: string): Promise<string> {
    const client = await RawClient.open(proxy.port);
    const host = `127.0.0.1:${String(origin.port)}`;
    client.write(
      `GET http://${host}/${name} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const received = name === 'clean' ? await client.readUntil('tunnel-bytes') : await client.readToEnd();
    client.destroy();
    return received;
  }

  it.each(['bare-lf', 'nul', 'bare-cr', 'folded'])('%s: answered 502 KZP_ERR_UPSTREAM_PROTOCOL, nothing of the head relayed', async (name) => {
    const received = await upgrade(name);
    expect(received).toMatch(/^HTTP\/1\.1 502 /);
    expect(received).toContain('X-Kaizen-Error: KZP_ERR_UPSTREAM_PROTOCOL');
    expect(received).not.toContain('X-Kaizen-Decision');
    expect(received).not.toContain('tunnel-bytes');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['status'] === 502);
    expect(closed['code']).toBe('KZP_ERR_UPSTREAM_PROTOCOL');
  });

  it('a well-formed 101 is tunnelled, its X-Kaizen-* line taken out', async () => {
    const received = await upgrade('clean');
    expect(received).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(received).not.toContain('X-Kaizen-Decision');
    expect(received.endsWith('\r\n\r\ntunnel-bytes')).toBe(true);
  });
});
