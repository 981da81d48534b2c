import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDirectAndViaParent } from '../../helpers/direct-and-parent.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { startPassthroughParent, type PassthroughParent } from '../../helpers/passthrough-parent.js';
import { rawExchange } from '../../helpers/raw-client.js';
import type { StartedProxy } from '../../helpers/start-proxy.js';

/**
 * The same origin bytes answer the client the same way straight to the destination and through
 * upstream_proxy: both read the answer with the proxy's own parser (RFC 9112 §6.3 framing). The
 * parent passes the origin's bytes through untouched (passthrough-parent.ts): Squid reframes a
 * Content-Length with Transfer-Encoding, a repeated length and chunk extensions itself, and would
 * hide what this test compares. Each row runs through the fast lane and node:http's server (a
 * `Content-Length: 0` keeps a request out of the lane).
 */
interface Row {
  readonly method: 'GET' | 'HEAD';
  /** What the origin writes; `close`: then closes the connection (a close-delimited body). */
  readonly answer: string;
  readonly close?: boolean;
  /** What the client must see (both ways): the status line's code and the body. */
  readonly status: number;
  readonly body: string;
  /** The interim heads the client must get before it (none when absent). */
  readonly interim?: readonly string[];
}

const ROWS: Readonly<Record<string, Row>> = {
  '/te-cl': { method: 'GET', answer: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 200, body: 'hello' },
  '/cl-te': { method: 'GET', answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 200, body: 'hello' },
  '/cl-twice': { method: 'GET', answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', status: 200, body: 'ok' },
  '/cl-list': { method: 'GET', answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok', status: 200, body: 'ok' },
  '/cl-differ': { method: 'GET', answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!', status: 502, body: '' },
  '/close-delimited': { method: 'GET', answer: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close', close: true, status: 200, body: 'until close' },
  '/head': { method: 'HEAD', answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', status: 200, body: '' },
  '/no-content': { method: 'GET', answer: 'HTTP/1.1 204 No Content\r\nX-Row: 204\r\n\r\n', status: 204, body: '' },
  '/not-modified': { method: 'GET', answer: 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\n\r\n', status: 304, body: '' },
  '/early-hints': {
    method: 'GET',
    answer: 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nX-Kaizen-Decision: block\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    interim: ['HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n'],
    status: 200,
    body: 'ok',
  },
  '/trailers': {
    method: 'GET',
    answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\nX-Kaizen-Decision: forged\r\nX-Sum: abc\r\n\r\n',
    status: 200,
    body: 'hello',
  },
  '/extensions': { method: 'GET', answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n1;x="q"\r\n!\r\n0;last\r\n\r\n', status: 200, body: 'hello!' },
};

/** What a client sees of one answer, without what may differ between two proxies (Date). */
interface Seen {
  /** The interim (1xx) heads before the answer, as relayed. */
  readonly interim: readonly string[];
  readonly statusLine: string;
  readonly lengths: readonly string[];
  readonly transferEncoding: string | null;
  readonly error: string | null;
  readonly body: string;
  readonly trailers: string;
  /** X-Kaizen-* fields other than X-Kaizen-Error (none may pass from the origin). */
  readonly kaizen: readonly string[];
}

async function seen(proxyPort: number, method: string, url: string, out: boolean): Promise<Seen> {
  let text = await rawExchange(proxyPort, `${method} ${url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${out ? 'Content-Length: 0\r\n' : ''}\r\n`);
  const interim: string[] = [];
  for (let end = text.indexOf('\r\n\r\n') + 4; /^HTTP\/1\.1 1\d\d /.test(text); end = text.indexOf('\r\n\r\n') + 4) {
    interim.push(text.slice(0, end));
    text = text.slice(end);
  }
  const end = text.indexOf('\r\n\r\n') + 4;
  const head = text.slice(0, end);
  const field = (name: string): string | null => new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(head)?.[1] ?? null;
  const transferEncoding = field('transfer-encoding');
  let rest = text.slice(end);
  let body = rest;
  let trailers = '';
  if (transferEncoding !== null) {
    body = '';
    for (let size = parseInt(rest, 16); size > 0; size = parseInt(rest, 16)) {
      const start = rest.indexOf('\r\n') + 2;
      body += rest.slice(start, start + size);
      rest = rest.slice(start + size + 2);
    }
    trailers = rest.slice(rest.indexOf('\r\n') + 2);
  }
  // A refusal's body is our JSON, the same both ways but for nothing: its code is compared instead.
  const error = field('x-kaizen-error');
  return {
    interim,
    statusLine: head.slice(0, head.indexOf('\r\n')),
    lengths: [...head.matchAll(/\r\ncontent-length: *([^\r]*)/gi)].map((match) => match[1] ?? ''),
    transferEncoding,
    error,
    body: error === null ? body : '',
    trailers,
    kaizen: [...head.matchAll(/\r\n(x-kaizen-[^:]*):/gi)].map((match) => match[1] ?? '').filter((name) => name.toLowerCase() !== 'x-kaizen-error'),
  };
}

function answerByRow(socket: Socket, head: string): void {
  const target = (head.split('\r\n')[0] ?? '').split(' ')[1] ?? '/';
  const row = ROWS[new URL(target, 'http://origin').pathname];
  if (row === undefined) socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  else if (row.close === true) socket.end(row.answer, 'latin1');
  else socket.write(row.answer, 'latin1');
}

let origin: HeadOrigin;
let parent: PassthroughParent;
let direct: StartedProxy;
let viaParent: StartedProxy;
let base: string;

beforeAll(async () => {
  [origin, parent] = await Promise.all([headOrigin(answerByRow), startPassthroughParent('kaizen', 'p@ss word')]);
  base = `http://127.0.0.1:${origin.port}`;
  [direct, viaParent] = await startDirectAndViaParent(parent, 'kaizen', 'p@ss word');
});

afterAll(async () => {
  await Promise.all([direct.close(), viaParent.close(), parent.close(), origin.close()]);
});

describe.each([
  ['the fast lane', false],
  ['node:http', true],
] as const)('the same origin bytes, straight and through upstream_proxy, from %s', (_name, out) => {
  it.each(Object.entries(ROWS))('%s answers the client the same way', async (path, row) => {
    const before = parent.heads.length;
    const straight = await seen(direct.port, row.method, `${base}${path}`, out);
    const through = await seen(viaParent.port, row.method, `${base}${path}`, out);
    expect(Number(straight.statusLine.split(' ')[1])).toBe(row.status);
    expect(straight.body).toBe(row.body);
    expect(straight.interim).toEqual(row.interim ?? []);
    expect(through).toEqual(straight);
    // It did go through the parent, absolute-form with our credentials (which the parent checked and took off).
    expect(parent.heads.slice(before).map((head) => head.split('\r\n')[0])).toEqual([`${row.method} ${base}${path} HTTP/1.1`]);
  });
});

describe('the pooled connection to the upstream proxy', () => {
  it('is kept after a repeated identical Content-Length, and closed after Transfer-Encoding with Content-Length (a smuggling signature), as a destination connection is', async () => {
    // One request at a time: the pooled connection to the parent is free again for the next.
    const ask = async (path: string): Promise<void> => {
      expect((await seen(viaParent.port, 'GET', `${base}${path}`, false)).statusLine).toBe('HTTP/1.1 200 OK');
    };
    await ask('/cl-twice');
    const before = parent.connections();
    for (const path of ['/cl-twice', '/cl-list', '/cl-twice']) await ask(path);
    expect(parent.connections()).toBe(before);
    await ask('/te-cl');
    await ask('/cl-twice');
    expect(parent.connections()).toBe(before + 1);
  });
});
