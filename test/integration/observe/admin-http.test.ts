import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_MAX_CONNECTIONS, createAdminServer, type AdminServer } from '../../../src/observe/admin-server.js';
import { createLogger } from '../../../src/observe/logger.js';
import { Readiness } from '../../../src/observe/readiness.js';
import { RawClient, rawExchange, type RawResponse } from '../../helpers/raw-client.js';

/**
 * The admin port's own HTTP/1.1 reading (src/observe/admin-connection.ts), byte by byte over real
 * sockets: pipelining, refusals, connection fates and deadlines.
 */
function adminServer(): AdminServer {
  const registry = new Registry();
  // Collected a few milliseconds late, as real collectors can be: an answer made after it would overtake it.
  new Gauge({
    name: 'kzp_test_fixed',
    help: 'a fixed value, collected late',
    registers: [registry],
    async collect() {
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.set(7);
    },
  });
  const readiness = new Readiness(() => ({ status: 'none' }), () => []);
  return createAdminServer({ readiness, registry, logger: createLogger({ level: 'silent' }) });
}

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: admin\r\n\r\n`;

function statusLine(text: string): string {
  return text.split('\r\n')[0] ?? '';
}

/** How many answers `text` holds (their status lines: no body here holds one). */
function answerCount(text: string): number {
  return text.match(/HTTP\/1\.1 \d{3} /g)?.length ?? 0;
}

describe('the admin port reading HTTP/1.1 itself', () => {
  let admin: AdminServer;
  let port: number;

  beforeAll(async () => {
    admin = adminServer();
    port = (await admin.listen('127.0.0.1', 0)).port;
  });
  afterAll(async () => {
    await admin.close();
  });

  it('answers three requests pipelined in one write in their order, the slow /metrics first, and keeps the connection', async () => {
    const client = await RawClient.open(port);
    client.write(GET('/metrics') + GET('/healthz') + GET('/nope?secret=1'));
    const metrics = await client.readResponse();
    const health = await client.readResponse();
    const missing = await client.readResponse();
    expect([metrics.status, health.status, missing.status]).toEqual([200, 200, 404]);
    expect(metrics.body).toContain('kzp_test_fixed 7');
    expect(health.body).toBe('{"status":"ok"}\n');
    expect(missing.body).toBe('not found: try /healthz, /readyz or /metrics\n');
    for (const answer of [metrics, health, missing]) {
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers['connection']).toBe('keep-alive');
      expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
    }
    // Kept alive: a fourth request on it is answered too.
    client.write(GET('/healthz'));
    expect((await client.readResponse()).status).toBe(200);
    client.destroy();
  });

  it('answers a malformed request line 400 and closes the connection', async () => {
    for (const line of ['GET  /healthz HTTP/1.1', 'GET /healthz HTTP/1.1 extra', 'GET /healthz', 'GET /healthz HTTP/2.0', 'GET /health z HTTP/1.1']) {
      const text = await rawExchange(port, `${line}\r\nHost: admin\r\n\r\n`);
      expect(statusLine(text), line).toBe('HTTP/1.1 400 Bad Request');
      expect(text, line).toContain('\r\nConnection: close\r\n');
      expect(answerCount(text), line).toBe(1);
    }
  });

  it('answers 400 and closes on bytes that are not HTTP/1: an HTTP/2 preface, a TLS record, a bare LF', async () => {
    for (const bytes of ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'GET /healthz HTTP/1.1\nHost: admin\n\n']) {
      const text = await rawExchange(port, bytes);
      expect(statusLine(text), JSON.stringify(bytes)).toBe('HTTP/1.1 400 Bad Request');
    }
  });

  it('answers a head over 8 KiB 431 and closes, whether or not its end has come', async () => {
    const large = `GET /healthz HTTP/1.1\r\nHost: admin\r\nX-Filler: ${'a'.repeat(8 * 1024)}\r\n`;
    for (const head of [`${large}\r\n`, large]) {
      const text = await rawExchange(port, head);
      expect(statusLine(text)).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(text).toContain('\r\nConnection: close\r\n');
    }
    // A head of exactly 8 KiB is a request like any other; one byte more is refused.
    const prefix = 'GET /healthz HTTP/1.1\r\nHost: admin\r\nX-Filler: ';
    const suffix = '\r\nConnection: close\r\n\r\n';
    const filler = 8 * 1024 - prefix.length - suffix.length;
    expect(statusLine(await rawExchange(port, `${prefix}${'a'.repeat(filler)}${suffix}`))).toBe('HTTP/1.1 200 OK');
    expect(statusLine(await rawExchange(port, `${prefix}${'a'.repeat(filler + 1)}${suffix}`))).toBe('HTTP/1.1 431 Request Header Fields Too Large');
  });

  it('answers HTTP/1.0 and Connection: close with Connection: close, then closes', async () => {
    for (const request of ['GET /healthz HTTP/1.0\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n']) {
      const client = await RawClient.open(port);
      client.write(request);
      const answer = await client.readResponse();
      expect(answer.status).toBe(200);
      expect(answer.headers['connection']).toBe('close');
      // The server closes: the client sees its end without closing first.
      await client.closed;
      expect(await client.readToEnd()).toBe('');
    }
  });

  it('answers what a client sent before its FIN (half-close), then closes', async () => {
    const client = await RawClient.open(port);
    client.write(GET('/metrics') + GET('/healthz'));
    client.end();
    const answers = [await client.readResponse(), await client.readResponse()];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(answers[0]?.body).toContain('kzp_test_fixed 7');
    await client.closed;
  });

  it('answers HEAD /metrics with the Content-Length of the GET and no body', async () => {
    const client = await RawClient.open(port);
    client.write(GET('/metrics'));
    const got = await client.readResponse();
    client.write(`HEAD /metrics HTTP/1.1\r\nHost: admin\r\n\r\n${GET('/healthz')}`);
    const head = await client.readResponse({ bodiless: true });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe(got.headers['content-type']);
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(got.body));
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    // The very next bytes are the next answer's: the HEAD sent no body.
    expect(await client.readBytes('HTTP/1.1 200 OK\r\n'.length)).toBe('HTTP/1.1 200 OK\r\n');
    client.destroy();
  });

  it('answers POST 405 with Allow, never reads its body as a request, and closes', async () => {
    const smuggled = GET('/healthz');
    const text = await rawExchange(port, `POST /metrics HTTP/1.1\r\nHost: admin\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    expect(statusLine(text)).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(text).toContain('\r\nAllow: GET, HEAD\r\n');
    expect(text).toContain('\r\nConnection: close\r\n');
    expect(text.endsWith('\r\n\r\nmethod not allowed\n')).toBe(true);
    expect(answerCount(text)).toBe(1);
    // A GET with a chunked body: answered, then closed, the body unread.
    const chunked = await rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: admin\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`);
    expect(statusLine(chunked)).toBe('HTTP/1.1 200 OK');
    expect(answerCount(chunked)).toBe(1);
  });

  it('answers up to 4 pipelined requests, and closes a connection at its fifth unanswered one', async () => {
    const four = await RawClient.open(port);
    four.write(GET('/healthz').repeat(4));
    for (let i = 0; i < 4; i++) expect((await four.readResponse()).status).toBe(200);
    four.destroy();
    const text = await rawExchange(port, GET('/healthz').repeat(5));
    expect(answerCount(text)).toBeLessThanOrEqual(4);
  });

  it('closes a connection whose head never completes, at the head deadline even while bytes keep coming', async () => {
    const client = await RawClient.open(port);
    const started = performance.now();
    client.write('GET /healthz HTTP/1.1\r\nHost: admin\r\n');
    // A byte every 250 ms: never idle for the 2 s idle deadline, so only the 5 s head deadline ends it.
    const drip = setInterval(() => {
      client.write('X');
    }, 250);
    await client.closed;
    clearInterval(drip);
    const elapsed = performance.now() - started;
    expect(await client.readToEnd()).toBe('');
    expect(elapsed).toBeGreaterThan(4_500);
    expect(elapsed).toBeLessThan(10_000);
  }, 20_000);

  it('closes an idle connection after about 2 s', async () => {
    const client = await RawClient.open(port);
    const started = performance.now();
    await client.closed;
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(1_500);
    expect(elapsed).toBeLessThan(4_500);
  }, 20_000);
});

describe('an answer larger than the socket takes at once', () => {
  it('stops reading until it is flushed, so requests sent meanwhile wait instead of counting against the bound', async () => {
    const registry = new Registry();
    const gauge = new Gauge({ name: 'kzp_test_wide', help: 'wide series', labelNames: ['id'], registers: [registry] });
    // About 8 MB of metrics: more than the kernel's buffers hold for a client, so the write waits for 'drain'.
    const wide = 'w'.repeat(4096);
    for (let i = 0; i < 2048; i++) gauge.set({ id: `${wide}${i}` }, i);
    const admin = createAdminServer({ readiness: new Readiness(() => ({ status: 'none' }), () => []), registry, logger: createLogger({ level: 'silent' }) });
    const { port } = await admin.listen('127.0.0.1', 0);
    const client = await RawClient.open(port);
    const firstBytes = once(client.socket, 'data');
    client.write(GET('/metrics').repeat(2));
    await firstBytes;
    // The first answer is being written: three more now would make five unanswered, were they read.
    client.write(GET('/healthz').repeat(3));
    const answers: RawResponse[] = [];
    for (let i = 0; i < 5; i++) answers.push(await client.readResponse());
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[0]?.body.length).toBeGreaterThan(8_000_000);
    expect(answers[1]?.body).toBe(answers[0]?.body);
    expect(answers.slice(2).map((answer) => answer.body)).toEqual(Array(3).fill('{"status":"ok"}\n'));
    client.destroy();
    await admin.close();
  }, 30_000);
});

describe('the admin port’s connections', () => {
  it(`holds ${ADMIN_MAX_CONNECTIONS} at once, closes the next at once, and close() ends those open`, async () => {
    const admin = adminServer();
    const { port } = await admin.listen('127.0.0.1', 0);
    const held = await Promise.all(Array.from({ length: ADMIN_MAX_CONNECTIONS }, () => RawClient.open(port)));
    let heldClosed = 0;
    for (const client of held) void client.closed.then(() => heldClosed++);
    // The held ones are accepted before this one (each has answered a request).
    await Promise.all(
      held.map(async (client) => {
        client.write(GET('/healthz'));
        return client.readResponse();
      }),
    );
    const extra = await RawClient.open(port);
    await extra.closed;
    expect(await extra.readToEnd()).toBe('');
    expect(heldClosed).toBe(0);
    await admin.close();
    await Promise.all(held.map((client) => client.closed));
    expect(heldClosed).toBe(ADMIN_MAX_CONNECTIONS);
  }, 20_000);
});
