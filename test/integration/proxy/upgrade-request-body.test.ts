import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/** What the origin read on one connection: the request head, its Content-Length body, what came after. */
interface Seen {
  head: string;
  body: string;
  after: string;
}

/**
 * An origin that reads an upgrade request as HTTP/1.1 frames it, as Go's server does: the head,
 * then (a 100 Continue first when asked for) its Content-Length body, and only then answers 101,
 * saying what body it read; after the switch it echoes. An origin that never gets the body it was
 * announced never answers.
 */
async function bodyReadingOrigin(): Promise<{ port: number; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    const record: Seen = { head: '', body: '', after: '' };
    let buffered = '';
    let want = -1;
    let switched = false;
    socket.on('data', (chunk: Buffer) => {
      if (switched) {
        record.after += chunk.toString('latin1');
        socket.write(chunk);
        return;
      }
      buffered += chunk.toString('latin1');
      if (want < 0) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        record.head = buffered.slice(0, end);
        seen.push(record);
        buffered = buffered.slice(end + 4);
        want = Number(/\r\ncontent-length: *(\d+)/i.exec(record.head)?.[1] ?? '0');
        if (/\r\nexpect: *100-continue/i.test(record.head)) socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
      if (buffered.length < want) return;
      record.body = buffered.slice(0, want);
      const rest = buffered.slice(want);
      if (record.head.startsWith('GET /declined ')) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope');
        return;
      }
      switched = true;
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbody:${record.body};`);
      if (rest !== '') {
        record.after += rest;
        socket.write(rest, 'latin1');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function upgradeHead(url: string, extra: string): string {
  return (
    `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}

describe('an upgrade request is framed like any other', () => {
  let origin: Awaited<ReturnType<typeof bodyReadingOrigin>>;
  let proxy: StartedProxy;
  const decider = createFakeDecider();

  beforeAll(async () => {
    origin = await bodyReadingOrigin();
    // Before the fix a swallowed body left the origin waiting: this bounds the wait for its answer.
    proxy = await startProxy({ decider, network: { idleTimeoutMs: 3_000 } });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('forwards a Content-Length body before the switch, and the frames sent after it only after the 101', async () => {
    const client = await RawClient.open(proxy.port);
    // Head, body and a first frame in one write, as a client that does not wait for the 101.
    client.write(`${upgradeHead(`http://127.0.0.1:${String(origin.port)}/body`, 'Content-Length: 5\r\n')}hello` + 'early-frame');
    const head = await client.readUntil('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(await client.readUntil(';')).toBe('body:hello;');
    expect(await client.readBytes('early-frame'.length)).toBe('early-frame');
    client.write('ping');
    expect(await client.readBytes(4)).toBe('ping');
    client.destroy();
    await client.closed;
    const seen = origin.seen.find((record) => record.head.startsWith('GET /body '));
    expect(seen).toMatchObject({ body: 'hello', after: 'early-frameping' });
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['status'] === 101);
    // Both ways what the tunnel carried past the heads: the body and frames up, the origin's bytes after its 101 down.
    expect(closed).toMatchObject({ bytes_up: 'hello'.length + 'early-frameping'.length, bytes_down: 'body:hello;'.length + 'early-frameping'.length });
  });

  it('lets the rest of the body through the tunnel when a Node origin switches before reading it', async () => {
    // node:http's 'upgrade' answers 101 at once, the body unread: its bytes are the first the tunnel carries, in order.
    const switching = await startOrigin();
    try {
      const client = await RawClient.open(proxy.port);
      client.write(`${upgradeHead(`${switching.url}/early-switch`, 'Content-Length: 5\r\n')}he`);
      expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 101 /);
      expect(await client.readBytes(2)).toBe('he');
      client.write('llo' + 'frame');
      expect(await client.readBytes('lloframe'.length)).toBe('lloframe');
      client.destroy();
      await client.closed;
    } finally {
      await switching.close();
    }
  });

  it('counts a body forwarded to a destination that declined the upgrade in bytes_up', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`${upgradeHead(`http://127.0.0.1:${String(origin.port)}/declined`, 'Content-Length: 6\r\n')}secret`);
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 401 /);
    expect(reply.endsWith('\r\n\r\nnope')).toBe(true);
    expect(origin.seen.find((record) => record.head.startsWith('GET /declined '))?.body).toBe('secret');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['status'] === 401);
    expect(closed).toMatchObject({ bytes_up: 'secret'.length, bytes_down: 'nope'.length });
  });

  it('relays the 100 Continue a Node client waits for, then its body, then switches', async () => {
    const url = `http://127.0.0.1:${String(origin.port)}/continue`;
    const result = await new Promise<{ continued: boolean; first: string }>((resolve, reject) => {
      let continued = false;
      const req = request({
        host: '127.0.0.1',
        port: proxy.port,
        path: url,
        headers: { Host: new URL(url).host, Connection: 'Upgrade', Upgrade: 'websocket', Expect: '100-continue', 'Content-Length': '7' },
      });
      req.on('continue', () => {
        continued = true;
        req.end('payload');
      });
      req.on('upgrade', (_res, socket, head) => {
        const received = head.toString('latin1');
        const done = (text: string): void => {
          socket.destroy();
          resolve({ continued, first: text });
        };
        if (received.includes(';')) done(received);
        else socket.once('data', (chunk: Buffer) => {
          done(received + chunk.toString('latin1'));
        });
      });
      req.on('response', (res) => {
        reject(new Error(`answered ${String(res.statusCode)}`));
      });
      req.on('error', reject);
    });
    expect(result).toEqual({ continued: true, first: 'body:payload;' });
  });

});
