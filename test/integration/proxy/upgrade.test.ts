import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
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
    expect(closed).toMatchObject({ status: 101, bytes_up: 'ping-frame'.length, bytes_down: 'ping-frame'.length });
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

  describe('an answer other than 101', () => {
    let scripted: HeadOrigin;
    /** Every request head the scripted origin received, in order. */
    const heads: string[] = [];
    let onHead: () => void = () => undefined;
    let lastSocket: Socket | null = null;
    /** Resolves once the scripted origin has received `count` heads in all. */
    const headsSeen = (count: number): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (heads.length >= count) resolve();
        };
        onHead = check;
        check();
      });

    beforeAll(async () => {
      scripted = await headOrigin((socket, head) => {
        heads.push(head);
        lastSocket = socket;
        onHead();
        answer(socket, head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1)));
      });
    });

    afterAll(async () => {
      await scripted.close();
    });

    /** Answers by path, as the reviewer's origin did: a declined upgrade, keep-alive. */
    function answer(socket: Socket, path: string): void {
      if (path === '/ws200') {
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n' +
            'X-Kaizen-Decision: allow\r\nX-Origin: kept\r\n\r\nok',
        );
      } else if (path === '/chunked404') {
        socket.write(
          'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n' +
            '5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Kaizen-Reason: forged\r\nProxy-Authorization: Basic c2VjcmV0\r\nSet-Cookie: a=b\r\n\r\n',
        );
      } else if (path === '/announced404') {
        socket.write(
          'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nTrailer: X-Kaizen-Decision, X-Checksum\r\n\r\n' +
            '5\r\nhello\r\n0\r\nX-Kaizen-Decision: allow\r\nX-Checksum: abc\r\n\r\n',
        );
      } else if (path === '/announced101') {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nTrailer: X-Kaizen-Decision, X-Checksum\r\n\r\n');
      } else if (path === '/gzip401') {
        // Framed by Transfer-Encoding (a stale Content-Length beside it), with a coding besides chunked.
        socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nGZIP\r\n0\r\n\r\n');
      } else if (path === '/close426') {
        // An interim 100 first: not the final answer, and not a 101.
        socket.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\nUpgrade: websocket\r\n\r\nneed-upgrade');
      } else if (path === '/hints101') {
        socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        socket.on('data', (chunk: Buffer) => socket.write(chunk));
      }
    }

    /** The next request on the same client connection: another host, with credentials for the proxy. */
    const secondRequest = (): string =>
      `GET ${origin.url}/second?api_key=SECRET HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n`;

    it('relays a 200 as an ordinary response, closes, and never forwards the next request', async () => {
      heads.length = 0;
      const client = await RawClient.open(proxy.port);
      client.write(upgradeRequest(`http://127.0.0.1:${scripted.port}/ws200`));
      const response = await client.readResponse();
      expect(response.status).toBe(200);
      expect(response.body).toBe('ok');
      // Request 2 on the same socket: it must not reach the upgrade's destination.
      client.write(secondRequest());
      await Promise.race([client.closed, headsSeen(2)]);
      expect(heads).toHaveLength(1);
      expect(response.headers).toMatchObject({ 'content-length': '2', connection: 'close', 'x-origin': 'kept' });
      expect(response.headers).not.toHaveProperty('keep-alive');
      expect(response.head.toLowerCase()).not.toContain('x-kaizen-');
      expect(await client.readToEnd()).toBe('');
      expect(heads.join('\n')).not.toContain('SECRET');
      // The destination's connection is closed too (nothing left to carry a later request).
      await new Promise<void>((resolve) => {
        if (lastSocket === null || lastSocket.closed) resolve();
        else lastSocket.once('close', () => {
          resolve();
        });
      });
      const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['target'] === `127.0.0.1:${scripted.port}`);
      expect(closed).toMatchObject({ status: 200, bytes_down: 2 });
    });

    it('relays a chunked 404 with its trailers cleaned, and holds back bytes sent after the request', async () => {
      heads.length = 0;
      const client = await RawClient.open(proxy.port);
      // Pipelined: the next request follows the upgrade request in the same write.
      client.write(upgradeRequest(`http://127.0.0.1:${scripted.port}/chunked404`) + secondRequest());
      const reply = await Promise.race([client.readToEnd(), headsSeen(2).then(() => 'second request reached the origin')]);
      expect(heads).toHaveLength(1);
      expect(reply).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
      const end = reply.indexOf('\r\n\r\n');
      const head = reply.slice(0, end);
      const body = reply.slice(end + 4);
      expect(head).toContain('\r\nTransfer-Encoding: chunked');
      expect(head).toContain('\r\nConnection: close');
      expect(body).toBe('5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n');
      expect(heads.join('\n')).not.toContain('SECRET');
    });

    it('names no X-Kaizen-* field in the Trailer header of a declined answer or of a 101', async () => {
      const declined = await RawClient.open(proxy.port);
      declined.write(upgradeRequest(`http://127.0.0.1:${scripted.port}/announced404`));
      const reply = await declined.readToEnd();
      const end = reply.indexOf('\r\n\r\n');
      expect(reply).toMatch(/^HTTP\/1\.1 404 Not Found\r\n/);
      expect(reply.slice(0, end + 2)).toContain('\r\nTrailer: X-Checksum\r\n');
      expect(reply.toLowerCase()).not.toContain('x-kaizen-');
      expect(reply.slice(end + 4)).toBe('5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n');

      const switched = await RawClient.open(proxy.port);
      switched.write(upgradeRequest(`http://127.0.0.1:${scripted.port}/announced101`));
      const head = await switched.readUntil('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      expect(head).toContain('\r\nTrailer: X-Checksum\r\n');
      expect(head.toLowerCase()).not.toContain('x-kaizen-');
      switched.destroy();
      await switched.closed;
    });

    it('relays a declined answer framed by Transfer-Encoding without its Content-Length, its coding named', async () => {
      heads.length = 0;
      const client = await RawClient.open(proxy.port);
      client.write(upgradeRequest(`http://127.0.0.1:${scripted.port}/gzip401`));
      const reply = await client.readToEnd();
      const end = reply.indexOf('\r\n\r\n');
      const head = reply.slice(0, end);
      expect(head).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
      expect(head.toLowerCase()).not.toContain('content-length');
      expect(head).toContain('\r\nTransfer-Encoding: gzip, chunked');
      expect(reply.slice(end + 4)).toBe('4\r\nGZIP\r\n0\r\n\r\n');
      expect(heads).toHaveLength(1);
    });

    it('relays a close-delimited 426 after an interim 100 whole, without a Content-Length, and closes', async () => {
      heads.length = 0;
      const client = await RawClient.open(proxy.port);
      client.write(upgradeRequest(`http://127.0.0.1:${scripted.port}/close426`));
      const reply = await client.readToEnd();
      expect(reply).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
      expect(reply).toContain('\r\nConnection: close\r\n');
      expect(reply.toLowerCase()).not.toContain('content-length');
      expect(reply.toLowerCase()).not.toContain('upgrade: websocket');
      expect(reply.endsWith('\r\n\r\nneed-upgrade')).toBe(true);
      expect(heads).toHaveLength(1);
    });

    it('takes an interim 103 for what it is, relays it, and tunnels after the 101 that follows', async () => {
      heads.length = 0;
      const client = await RawClient.open(proxy.port);
      // A frame sent before the 101: held, then forwarded once the connection is switched.
      client.write(upgradeRequest(`http://127.0.0.1:${scripted.port}/hints101`) + 'early-frame');
      expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 103 /);
      const head = await client.readUntil('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      expect(await client.readBytes('early-frame'.length)).toBe('early-frame');
      client.write('ping-frame');
      expect(await client.readBytes('ping-frame'.length)).toBe('ping-frame');
      client.destroy();
      await client.closed;
      expect(heads).toHaveLength(1);
    });
  });
});
