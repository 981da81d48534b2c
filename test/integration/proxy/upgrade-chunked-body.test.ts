import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// An Upgrade request's chunked body is part of the request (RFC 9112 §7.1, RFC 9110 §7.8): it goes
// to the destination ahead of the 101, framed as the client framed it, its trailers filtered as the
// ordinary path filters a request's; only what follows its last chunk waits for the 101. Before,
// such a request was refused 400 KZP_ERR_BAD_REQUEST and never forwarded.

/** What the origin read of one upgrade request: its head, its body as it came (chunks and trailer section), what came after. */
interface Seen {
  head: string;
  framed: string;
  after: string;
}

/**
 * A raw origin that reads an upgrade request as HTTP/1.1 frames it, as Go's server does: the head,
 * then its chunked body to the end of its trailer section, and only then answers (101, or 401 for
 * /declined), saying what body it decoded; after the switch it echoes.
 */
async function chunkReadingOrigin(): Promise<{ origin: HeadOrigin; seen: Seen[] }> {
  const seen: Seen[] = [];
  const origin = await headOrigin(() => undefined);
  origin.server.removeAllListeners('connection');
  origin.server.on('connection', (socket) => {
    origin.sockets.add(socket);
    socket.on('close', () => origin.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    let record: Seen | null = null;
    let switched = false;
    socket.on('data', (chunk: Buffer) => {
      if (switched && record !== null) {
        record.after += chunk.toString('latin1');
        socket.write(chunk);
        return;
      }
      buffered += chunk.toString('latin1');
      if (record === null) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        record = { head: buffered.slice(0, end), framed: '', after: '' };
        seen.push(record);
        buffered = buffered.slice(end + 4);
      }
      const body = decodeChunked(buffered);
      if (body === null) return;
      record.framed = buffered.slice(0, body.length);
      const rest = buffered.slice(body.length);
      if (record.head.startsWith('GET /declined ')) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope');
        return;
      }
      switched = true;
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbody:${body.data};`);
      if (rest !== '') {
        record.after += rest;
        socket.write(rest, 'latin1');
      }
    });
  });
  return { origin, seen };
}

/** A whole chunked body at the start of `text`: its data and its length on the wire; null while incomplete. */
function decodeChunked(text: string): { data: string; length: number } | null {
  let at = 0;
  let data = '';
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(text.slice(at, eol), 16);
    at = eol + 2;
    if (size === 0) {
      const end = text.indexOf('\r\n\r\n', at - 2);
      return end < 0 ? null : { data, length: end + 4 };
    }
    if (text.length < at + size + 2) return null;
    data += text.slice(at, at + size);
    at += size + 2;
  }
}

function upgradeHead(url: string, extra: string): string {
  return (
    `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: Upgrade, X-Hop\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nTransfer-Encoding: chunked\r\n${extra}\r\n`
  );
}

describe('an upgrade request with a chunked body', () => {
  let origin: HeadOrigin;
  let seen: Seen[];
  let proxy: StartedProxy;

  beforeAll(async () => {
    ({ origin, seen } = await chunkReadingOrigin());
    // Before the fix a held body left the origin waiting: this bounds the wait for its answer.
    proxy = await startProxy({ network: { idleTimeoutMs: 3_000 } });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  const url = (path: string): string => `http://127.0.0.1:${String(origin.port)}${path}`;

  it('forwards the chunks before the switch, trailers filtered, and the frames after them only after the 101', async () => {
    const client = await RawClient.open(proxy.port);
    // Head, two chunks split across writes, trailers, and a first frame, as a client that does not wait for the 101.
    client.write(upgradeHead(url('/chunked'), 'Trailer: X-Checksum\r\n') + '5\r\nhel');
    client.write('lo\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: c1\r\nProxy-Authorization: Basic c2VjcmV0\r\nX-Hop: gone\r\n\r\nearly-frame');
    expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 101 /);
    expect(await client.readUntil(';')).toBe('body:hello world;');
    expect(await client.readBytes('early-frame'.length)).toBe('early-frame');
    client.write('ping');
    expect(await client.readBytes(4)).toBe('ping');
    client.destroy();
    await client.closed;
    const record = seen.find((one) => one.head.startsWith('GET /chunked '));
    expect(record?.head).toMatch(/\r\nTransfer-Encoding: chunked(\r\n|$)/);
    expect(record?.head).toMatch(/\r\nTrailer: X-Checksum(\r\n|$)/);
    // The chunks as the client framed them; the trailer section without the proxy's credential and what Connection named.
    expect(record?.framed).toBe('5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: c1\r\n\r\n');
    expect(record?.after).toBe('early-frameping');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['status'] === 101);
    expect(closed).toMatchObject({ bytes_up: (record?.framed.length ?? 0) + 'early-frameping'.length });
  });

  it('relays a declined answer to a chunked upgrade, its body forwarded first', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`${upgradeHead(url('/declined'), '')}6\r\nsecret\r\n0\r\n\r\n`);
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 401 /);
    expect(reply.endsWith('\r\n\r\nnope')).toBe(true);
    expect(seen.find((one) => one.head.startsWith('GET /declined '))?.framed).toBe('6\r\nsecret\r\n0\r\n\r\n');
  });

  it('answers 400 KZP_ERR_BAD_REQUEST to chunks that do not parse, and closes the destination connection', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`${upgradeHead(url('/malformed'), '')}zz\r\nhello\r\n0\r\n\r\n`);
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain('X-Kaizen-Error: KZP_ERR_BAD_REQUEST');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade' && line['status'] === 400);
    expect(closed['code']).toBe('KZP_ERR_BAD_REQUEST');
    expect(seen.find((one) => one.head.startsWith('GET /malformed '))?.framed ?? '').toBe('');
  });
});
