import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A chunked request body that node:http's parser finds malformed (a chunk size that is not hex,
 * chunk data without its CRLF) is answered 400 KZP_ERR_BAD_REQUEST, `Connection: close`, while
 * the request's answer has not begun, as Squid and Envoy answer it: before, the proxy reset the
 * connection with no answer at all. Whatever part of the body went to the destination goes no
 * further: that destination connection is closed, never pooled half-written.
 */

interface OriginConnection {
  received: string;
  readonly socket: Socket;
}

/** A raw origin that records what each connection brought and answers only `/early`, at its head, with part of a body. */
let server: Server;
let port: number;
const connections: OriginConnection[] = [];
const arrivals = new EventTarget();

beforeAll(async () => {
  server = createServer((socket) => {
    const connection: OriginConnection = { received: '', socket };
    connections.push(connection);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      connection.received += chunk.toString('latin1');
      if (connection.received.startsWith('POST /early ') && connection.received.includes('\r\n\r\n') && !socket.writableEnded) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello');
      }
      if (connection.received.startsWith('GET ') && connection.received.endsWith('\r\n\r\n')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      arrivals.dispatchEvent(new Event('data'));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  for (const connection of connections) connection.socket.destroy();
  server.close();
});

let proxy: StartedProxy | null = null;
let release: () => void = () => undefined;

afterEach(async () => {
  release();
  await proxy?.close();
  proxy = null;
  connections.length = 0;
});

async function start(hold = false): Promise<StartedProxy> {
  const until = new Promise<void>((resolve) => {
    release = resolve;
  });
  proxy = await startProxy({
    decider: createFakeDecider(hold ? { hold: { targets: ['127.0.0.1'], until } } : {}),
    resolve: () => Promise.resolve({ ok: true as const, addresses: ['127.0.0.1'] }),
  });
  return proxy;
}

/** Resolves once some origin connection has received `text`. */
async function originReceived(text: string): Promise<OriginConnection> {
  for (;;) {
    const found = connections.find((connection) => connection.received.includes(text));
    if (found !== undefined) return found;
    await once(arrivals, 'data');
  }
}

function post(path: string): string {
  return `POST http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\n\r\n`;
}

async function expectBadRequest(client: RawClient): Promise<void> {
  const answer = await client.readResponse();
  expect(answer.status).toBe(400);
  expect(answer.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
  expect(answer.headers.connection).toBe('close');
  expect(JSON.parse(answer.body)).toMatchObject({ error: 'KZP_ERR_BAD_REQUEST', message: 'malformed chunked request body' });
  expect(await client.readToEnd()).toBe('');
}

describe('a malformed chunked request body', () => {
  it('in the read that brought the head: 400, the destination sent nothing, and the next client is served', async () => {
    const { port: proxyPort, logs } = await start();
    const client = await RawClient.open(proxyPort);
    client.write(`${post('/first-read')}zz\r\nhello\r\n0\r\n\r\n`);
    await expectBadRequest(client);
    expect(connections.every((connection) => connection.received === '')).toBe(true);
    const closed = await logs.waitFor((line) => line.msg === 'closed' && line['status'] === 400);
    expect(closed).toMatchObject({ code: 'KZP_ERR_BAD_REQUEST', target: `127.0.0.1:${port}` });

    const next = await RawClient.open(proxyPort);
    next.write(`GET http://127.0.0.1:${port}/after HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    expect(await next.readResponse()).toMatchObject({ status: 200, body: 'ok' });
    next.destroy();
  });

  it('after good chunks went out: 400, and the destination connection carrying part of it is closed', async () => {
    const { port: proxyPort } = await start();
    const client = await RawClient.open(proxyPort);
    client.write(`${post('/streamed')}5\r\nhello\r\n`);
    const carrying = await originReceived('hello');
    const gone = once(carrying.socket, 'close');
    client.write('5\r\nworldXX0\r\n\r\n');
    await expectBadRequest(client);
    await gone;
    // Whatever of the bad read went out, the destination never got a whole request.
    expect(carrying.received).not.toMatch(/\r\n0\r\n\r\n$/);
  });

  it('while its decision is pending: 400 at once, and the destination is never dialled', async () => {
    const { port: proxyPort } = await start(true);
    const client = await RawClient.open(proxyPort);
    client.write(`${post('/held')}5\r\nhello\r\nnot-hex\r\n`);
    await expectBadRequest(client);
    release();
    // A request after it, decided once the hold is over, is the destination's first connection.
    const next = await RawClient.open(proxyPort);
    next.write(`GET http://127.0.0.1:${port}/after-hold HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    expect(await next.readResponse()).toMatchObject({ status: 200, body: 'ok' });
    next.destroy();
    expect(connections.map((connection) => connection.received.split('\r\n')[0])).toEqual(['GET /after-hold HTTP/1.1']);
  });

  it("once the destination's answer has begun: the connection is cut, never answered twice", async () => {
    const { port: proxyPort } = await start();
    const client = await RawClient.open(proxyPort);
    client.write(`${post('/early')}5\r\nhello\r\n`);
    expect(await client.readUntil('hello')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    client.write('zz\r\n');
    expect(await client.readToEnd()).toBe('');
  });
});
