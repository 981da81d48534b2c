import { execFile } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { startHoldingOrigin, type HoldingOrigin } from '../../helpers/holding-origin.js';
import { answerInterim, CLEAN_HINTS, PROCESSING } from '../../helpers/interim-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

const run = promisify(execFile);

// A proxy forwards 1xx answers (RFC 9110 §15.2), never to an HTTP/1.0 client: a 102 Processing or
// 103 Early Hints the destination sends before its final answer reaches the client of an ordinary
// request, cleaned as any relayed head (as upgrade-interim.test.ts checks before a 101), on the
// fast lane and node:http's path alike. A 100 still goes only to a client that asked for one.
// Before, the ordinary path read them and dropped them.

describe('interim answers to an ordinary request', () => {
  let origin: HeadOrigin;
  let holding: HoldingOrigin;
  let proxy: StartedProxy;
  /** By request path: the origin connection that answered it closed (a /continue answer closes it once the proxy read it all). */
  const closes = new Map<string, { readonly closed: Promise<void>; readonly resolve: () => void }>();
  const closeOf = (path: string): { readonly closed: Promise<void>; readonly resolve: () => void } => {
    let entry = closes.get(path);
    if (entry === undefined) {
      let resolve = (): void => undefined;
      const closed = new Promise<void>((done) => (resolve = done));
      entry = { closed, resolve };
      closes.set(path, entry);
    }
    return entry;
  };

  beforeAll(async () => {
    origin = await headOrigin((socket, head) => {
      answerInterim(socket, head);
      socket.once('close', closeOf(head.split(' ')[1] ?? '').resolve);
    });
    holding = await startHoldingOrigin();
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close(), holding.close()]);
  });

  const url = (path: string): string => `http://127.0.0.1:${String(origin.port)}${path}`;

  it.each([
    ['the fast lane', ''],
    ["node:http's path", 'Content-Length: 0\r\n'],
  ])('relays 102 and a cleaned 103 before the final answer on %s', async (_name, extra) => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${url('/hints')} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toBe(PROCESSING);
    expect(await client.readUntil('\r\n\r\n')).toBe(CLEAN_HINTS);
    const answer = await client.readResponse();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
    // The connection carries the next request as before.
    client.write(`GET ${url('/hints')} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toBe(PROCESSING);
    expect(await client.readUntil('\r\n\r\n')).toBe(CLEAN_HINTS);
    expect((await client.readResponse()).body).toBe('ok');
    client.destroy();
  });

  it('relays the 100 to a client that sent Expect: 100-continue, then the 103', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`POST ${url('/continue')} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    client.write('hello');
    expect(await client.readUntil('\r\n\r\n')).toBe(CLEAN_HINTS);
    const answer = await client.readResponse();
    expect(answer.status).toBe(201);
    expect(answer.body).toBe('done');
    client.destroy();
  });

  it('relays the 103 but not the 100 to a client that did not ask for one', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`POST ${url('/continue')} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`);
    expect(await client.readUntil('\r\n\r\n')).toBe(CLEAN_HINTS);
    expect((await client.readResponse()).status).toBe(201);
    client.destroy();
  });

  it('relays none to an HTTP/1.0 client', async () => {
    const reply = await (async () => {
      const client = await RawClient.open(proxy.port);
      client.write(`GET ${url('/hints')} HTTP/1.0\r\nHost: x\r\n\r\n`);
      return client.readToEnd();
    })();
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(reply).not.toContain(' 102 ');
    expect(reply).not.toContain(' 103 ');
    expect(reply.endsWith('\r\n\r\nok')).toBe(true);
  });

  it("reaches Node's http client as information events, then the answer", async () => {
    const heard = await new Promise<{ statuses: number[]; hints: IncomingHttpHeaders[]; status: number; body: string }>((resolve, reject) => {
      const statuses: number[] = [];
      const hints: IncomingHttpHeaders[] = [];
      const req = request({ host: '127.0.0.1', port: proxy.port, path: url('/hints') });
      req.on('information', (info) => {
        statuses.push(info.statusCode);
        if (info.statusCode === 103) hints.push(info.headers);
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ statuses, hints, status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(heard.statuses).toEqual([102, 103]);
    expect(heard.hints).toEqual([{ link: '</style.css>; rel=preload' }]);
    expect(heard.status).toBe(200);
    expect(heard.body).toBe('ok');
  });

  it('shows curl -v the 103 with its Link field', async () => {
    const { stdout, stderr } = await run('curl', ['-sS', '-v', '-x', proxy.url, url('/hints')]);
    expect(stdout).toBe('ok');
    expect(stderr).toContain('< HTTP/1.1 102 Processing');
    expect(stderr).toContain('< HTTP/1.1 103 Early Hints');
    expect(stderr).toContain('< Link: </style.css>; rel=preload');
    expect(stderr).not.toContain('X-Kaizen-Decision');
    expect(stderr).not.toContain('X-Hop');
  });

  it("never writes one into an earlier answer a pipelined request waits behind (node:http's path)", async () => {
    const client = await RawClient.open(proxy.port);
    client.write(
      `POST http://127.0.0.1:${String(holding.port)}/held HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n` +
        `POST ${url('/pipelined/continue')} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
    );
    const held = await holding.held('/held');
    // The second answer (100, 103, 201, then a close) has been read by the proxy whole, while the first is still held.
    await closeOf('/pipelined/continue').closed;
    held.end('first');
    const first = await client.readResponse();
    expect(first.status).toBe(200);
    expect(first.body).toBe('first');
    let second = await client.readResponse();
    if (second.status === 103) second = await client.readResponse();
    expect(second.status).toBe(201);
    expect(second.body).toBe('done');
    client.destroy();
  });
});
