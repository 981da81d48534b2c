import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// The proxy's own HTTP/1.1 client (src/proxy/origin-connection.ts, origin-pools.ts) against a raw
// origin that answers each request by a script: reuse, retry, strict parsing, what is never reused.

interface Received {
  readonly connection: number;
  readonly method: string;
  readonly path: string;
}

type Script = (socket: Socket, request: Received, nth: number) => void;

/** A raw origin: reads request heads (and Content-Length bodies) and lets `scripts[path]` answer. */
class ScriptedOrigin {
  readonly received: Received[] = [];
  connections = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(scripts: Record<string, Script>) {
    this.#server = createServer({ allowHalfOpen: true }, (socket) => {
      const connection = ++this.connections;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => undefined);
      let buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end === -1) return;
          const head = buffer.toString('latin1', 0, end);
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? '0');
          if (buffer.length < end + 4 + length) return;
          buffer = buffer.subarray(end + 4 + length);
          const [method = '', path = ''] = head.split(' ');
          const request = { connection, method, path };
          this.received.push(request);
          const script = scripts[path];
          if (script === undefined) socket.destroy();
          else script(socket, request, this.received.filter((r) => r.path === path).length);
        }
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => {
      resolve();
    }));
  }
}

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

let origin: ScriptedOrigin;
let base: string;
let proxy: StartedProxy;

beforeAll(async () => {
  origin = new ScriptedOrigin({
    '/plain': (socket) => socket.write(ok('plain')),
    '/close': (socket) => socket.write(ok('closing', 'Connection: close\r\n'), () => socket.end()),
    // Answers once, then drops the connection as the next request arrives on it, unanswered.
    '/drop-next': (socket, request, nth) => {
      if (nth === 2) socket.destroy();
      else socket.write(ok(`drop-${String(request.connection)}`));
    },
    '/post-drop': (socket, _request, nth) => {
      if (nth === 2) socket.destroy();
      else socket.write(ok('posted'));
    },
    '/garbage': (socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n\r\n'),
    '/short': (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this', () => socket.end()),
    '/interim': (socket) => socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n${ok('final')}`),
    '/huge-head': (socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n`),
    '/big-head': (socket) => socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'b'.repeat(40 * 1024)}\r\nContent-Length: 3\r\n\r\nbig`),
    '/extra': (socket) => socket.write(`${ok('first')}HTTP/1.1 200 OK\r\n`),
    '/trailers': (socket) => socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n'),
    '/smuggle': (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc'),
  });
  base = `http://127.0.0.1:${String(await origin.listen())}`;
  proxy = await startProxy({ decider: createFakeDecider() });
});

afterAll(async () => {
  await proxy.close();
  await origin.close();
});

/** The data of a chunked body up to (not including) its last chunk, which `raw` ends with. */
function decodeChunks(raw: string): string {
  let data = '';
  for (let at = 0; ; ) {
    const eol = raw.indexOf('\r\n', at);
    const size = Number.parseInt(raw.slice(at, eol), 16);
    if (size === 0) return data;
    data += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

async function get(client: RawClient, path: string, method = 'GET', body = ''): Promise<Awaited<ReturnType<RawClient['readResponse']>>> {
  const length = body === '' ? '' : `Content-Length: ${String(body.length)}\r\n`;
  client.write(`${method} ${base}${path} HTTP/1.1\r\nHost: x\r\n${length}\r\n${body}`);
  return client.readResponse();
}

describe("the proxy's HTTP/1.1 client", () => {
  it('reuses one destination connection across client connections', async () => {
    const before = origin.connections;
    for (let i = 0; i < 3; i++) {
      const client = await RawClient.open(proxy.port);
      expect((await get(client, '/plain')).body).toBe('plain');
      client.destroy();
    }
    expect(origin.connections - before).toBeLessThanOrEqual(1);
  });

  it('opens a new connection after `Connection: close`, and every answer arrives', async () => {
    const client = await RawClient.open(proxy.port);
    for (let i = 0; i < 3; i++) expect((await get(client, '/close')).body).toBe('closing');
    const used = origin.received.filter((r) => r.path === '/close').map((r) => r.connection);
    expect(new Set(used).size).toBe(3);
    client.destroy();
  });

  it('sends a GET again on a fresh connection when a reused one closes unanswered', async () => {
    const client = await RawClient.open(proxy.port);
    expect((await get(client, '/drop-next')).body).toMatch(/^drop-\d+$/);
    const second = await get(client, '/drop-next');
    expect(second.status).toBe(200);
    const tries = origin.received.filter((r) => r.path === '/drop-next');
    expect(tries).toHaveLength(3);
    expect(second.body).toBe(`drop-${String(tries[2]?.connection)}`);
    expect(tries[2]?.connection).not.toBe(tries[1]?.connection);
    expect(proxy.server.originPool.retries).toBe(1);
    client.destroy();
  });

  it('never sends a request with a body twice: 502 when its reused connection closes unanswered', async () => {
    const client = await RawClient.open(proxy.port);
    expect((await get(client, '/post-drop', 'POST', 'one')).body).toBe('posted');
    const second = await get(client, '/post-drop', 'POST', 'two');
    expect(second.status).toBe(502);
    expect(second.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_CONNECT');
    expect(origin.received.filter((r) => r.path === '/post-drop')).toHaveLength(2);
    client.destroy();
  });

  it('answers 502 KZP_ERR_UPSTREAM_PROTOCOL to what is not HTTP, conflicting lengths and a head over 64 KiB', async () => {
    for (const path of ['/garbage', '/smuggle', '/huge-head']) {
      const client = await RawClient.open(proxy.port);
      const answer = await get(client, path);
      expect(answer.status, path).toBe(502);
      expect(answer.headers['x-kaizen-error'], path).toBe('KZP_ERR_UPSTREAM_PROTOCOL');
      client.destroy();
    }
  });

  it('relays a 40 KiB response head (past the 16 KiB node:http and undici take)', async () => {
    const client = await RawClient.open(proxy.port);
    const answer = await get(client, '/big-head');
    expect(answer.status).toBe(200);
    expect(answer.headers['x-big']).toHaveLength(40 * 1024);
    expect(answer.body).toBe('big');
    client.destroy();
  });

  it('cuts the client off when the destination closes short of its Content-Length', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${base}/short HTTP/1.1\r\nHost: x\r\n\r\n`);
    const head = await client.readUntil('\r\n\r\n');
    expect(head).toContain('Content-Length: 100');
    const rest = await client.readToEnd();
    expect(rest.length).toBeLessThan(100);
  });

  it('relays a 103 but not a 100 the client did not ask for, then the final answer', async () => {
    const client = await RawClient.open(proxy.port);
    const hints = await get(client, '/interim');
    expect(hints.head).toBe('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
    const answer = await client.readResponse();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('final');
    client.destroy();
  });

  it('relays chunked bodies with their trailers, extensions dropped', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${base}/trailers HTTP/1.1\r\nHost: x\r\n\r\n`);
    const head = await client.readUntil('\r\n\r\n');
    expect(head).toMatch(/transfer-encoding: chunked/i);
    // Chunk boundaries are node:http's to choose when it re-frames the body; the payload, the
    // trailer and the absence of the destination's chunk extension are what must hold.
    const body = await client.readUntil('\r\n0\r\n');
    const trailer = await client.readUntil('\r\n\r\n');
    expect(body).not.toContain(';');
    expect(decodeChunks(body)).toBe('abcde');
    expect(trailer).toBe('X-Sum: 5\r\n\r\n');
    client.destroy();
  });

  it('does not reuse a connection that sent bytes after its answer', async () => {
    const client = await RawClient.open(proxy.port);
    expect((await get(client, '/extra')).body).toBe('first');
    expect((await get(client, '/plain')).body).toBe('plain');
    const last = origin.received.at(-1);
    const extra = origin.received.filter((r) => r.path === '/extra').at(-1);
    expect(extra).toBeDefined();
    expect(last?.connection).not.toBe(extra?.connection);
    client.destroy();
  });
});
