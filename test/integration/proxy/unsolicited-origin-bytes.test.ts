import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient, type RawResponse } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// Bytes a destination sends beyond what its answer's framing says (an overlong body, a second
// answer nobody asked for, bytes or EOF on a connection idle in the pool) are never served as the
// answer to the next request on that connection, whoever sends it (Go's Transport: "Unsolicited
// response received on idle HTTP channel"; Squid). The connection is closed instead and the next
// request goes on a fresh one. Extra bytes that arrive only after the next request went out on the
// connection are a race no client can close, and are not tested here.

const EVIL = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Unsolicited: yes\r\n\r\nEVIL';
const answer = (body: string): string => `HTTP/1.1 200 OK\r\nContent-Length: ${String(body.length)}\r\n\r\n${body}`;

/** How the origin answers the first request of a pair. */
type Misbehaviour = (socket: Socket) => void;

let proxy: StartedProxy;
let origin: HeadOrigin;
/** Every origin connection seen (each set without Nagle). */
const connections: Socket[] = [];
/** Per path: how the origin answers it. */
const scripts = new Map<string, Misbehaviour>();
/** The origin connection that carried each path's request, by path. */
const carriedBy = new Map<string, Socket>();

beforeAll(async () => {
  origin = await headOrigin((socket, head) => {
    if (!connections.includes(socket)) {
      connections.push(socket);
      // Without Nagle: bytes written while the proxy has yet to acknowledge the answer would
      // otherwise wait for its next segment, the next request, and arrive after it (the race).
      socket.setNoDelay(true);
    }
    const path = new URL((head.split(' ')[1] ?? '/'), 'http://x').pathname;
    carriedBy.set(path, socket);
    const script = scripts.get(path);
    if (script === undefined) socket.write(answer(`true answer to ${path}`));
    else script(socket);
  });
  proxy = await startProxy({ decider: createFakeDecider() });
});

afterAll(async () => {
  await proxy.close();
  await origin.close();
});

const url = (path: string): string => `http://127.0.0.1:${String(origin.port)}${path}`;

function askFor(path: string, method: string, fields = ''): string {
  const body = method === 'POST' ? 'Content-Length: 4\r\n\r\nbody' : '\r\n';
  return `${method} ${url(path)} HTTP/1.1\r\nHost: x\r\n${fields}${body}`;
}

interface Pair {
  /** Called with the origin's side of the first request's connection once its answer was relayed. */
  readonly between?: (carrier: Socket) => Promise<void>;
  /** Called with it right after the second request was written by the client, in the same tick. */
  readonly alongside?: (carrier: Socket) => void;
  /** Fields of the first request (`Authorization: NTLM ...` pins the connection to the client). */
  readonly firstFields?: string;
}

/**
 * One request answered by `misbehave`, then a second request (a POST: never sent again, so a
 * retry cannot hide a dead connection handed out), on the same client connection or on another
 * one. Returns both answers, and whether the second went on the first one's destination connection.
 */
async function twoRequests(name: string, misbehave: Misbehaviour, sameClient: boolean, pair: Pair = {}): Promise<{ first: RawResponse; second: RawResponse; reused: boolean }> {
  const firstPath = `/${name}-${sameClient ? 'same' : 'other'}-first`;
  const secondPath = `/${name}-${sameClient ? 'same' : 'other'}-second`;
  scripts.set(firstPath, misbehave);
  const client = await RawClient.open(proxy.port);
  client.write(askFor(firstPath, 'GET', pair.firstFields));
  const first = await client.readResponse();
  const carrier = carriedBy.get(firstPath);
  if (carrier === undefined) throw new Error('the origin never saw the first request');
  await pair.between?.(carrier);
  const asker = sameClient ? client : await RawClient.open(proxy.port);
  asker.write(askFor(secondPath, 'POST'));
  pair.alongside?.(carrier);
  const second = await asker.readResponse();
  asker.destroy();
  client.destroy();
  return { first, second, reused: carriedBy.get(secondPath) === carrier };
}

/** The unsolicited answer written, and in the proxy's socket (loopback), before the next request is sent. */
const unsolicitedFirst = async (carrier: Socket): Promise<void> => {
  await new Promise<void>((resolve) => carrier.write(EVIL, () => { resolve(); }));
};
/** The destination's EOF, sent before the next request is. */
const eofFirst = async (carrier: Socket): Promise<void> => {
  await new Promise<void>((resolve) => carrier.end(() => { resolve(); }));
};
const NTLM = 'Authorization: NTLM TlRMTVNTUAABAAAA\r\n';

describe('bytes a destination sends beyond its answer', () => {
  for (const sameClient of [true, false]) {
    const who = sameClient ? 'the same client connection' : 'another client connection';

    it(`are never the answer to the next request on ${who}: Content-Length 5 and 12 bytes`, async () => {
      const { first, second, reused } = await twoRequests('overlong', (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstSURPLUS'), sameClient);
      expect(first.status).toBe(200);
      expect(first.body).toBe('first');
      expect(second.status).toBe(200);
      expect(second.body).toBe(`true answer to /overlong-${sameClient ? 'same' : 'other'}-second`);
      expect(reused).toBe(false);
    });

    it(`are never the answer to the next request on ${who}: a second answer in the same write`, async () => {
      const { first, second, reused } = await twoRequests('second', (socket) => socket.write(answer('first') + EVIL), sameClient);
      expect(first.body).toBe('first');
      expect(second.headers['x-unsolicited']).toBeUndefined();
      expect(second.body).toBe(`true answer to /second-${sameClient ? 'same' : 'other'}-second`);
      expect(reused).toBe(false);
    });

    it(`are never the answer to the next request on ${who}: an answer arriving while the connection is idle`, async () => {
      const { first, second, reused } = await twoRequests('idle', (socket) => socket.write(answer('first')), sameClient, { between: unsolicitedFirst });
      expect(first.body).toBe('first');
      expect(second.headers['x-unsolicited']).toBeUndefined();
      expect(second.body).toBe(`true answer to /idle-${sameClient ? 'same' : 'other'}-second`);
      expect(reused).toBe(false);
    });

    it(`never hand the next request on ${who} a connection the destination closed while it was idle`, async () => {
      const { second, reused } = await twoRequests('eof', (socket) => socket.write(answer('first')), sameClient, { between: eofFirst });
      expect(second.status).toBe(200);
      expect(second.body).toBe(`true answer to /eof-${sameClient ? 'same' : 'other'}-second`);
      expect(reused).toBe(false);
    });
  }

  it('are never the answer to the next request: an answer that reached the proxy as that request did', async () => {
    // Both in the proxy's sockets before it reads either: whichever it reads first, the answer came
    // before the request was sent on, and is no answer to it.
    const { second, reused } = await twoRequests('alongside', (socket) => socket.write(answer('first')), true, { alongside: (carrier) => carrier.write(EVIL) });
    expect(second.headers['x-unsolicited']).toBeUndefined();
    expect(second.body).toBe('true answer to /alongside-same-second');
    expect(reused).toBe(false);
  });

  it('never hand the next request a connection whose EOF reached the proxy as that request did', async () => {
    const { second, reused } = await twoRequests('alongside-eof', (socket) => socket.write(answer('first')), true, { alongside: (carrier) => carrier.end() });
    expect(second.status).toBe(200);
    expect(second.body).toBe('true answer to /alongside-eof-same-second');
    expect(reused).toBe(false);
  });

  it('are never the answer to the next request on a connection pinned to its client (NTLM)', async () => {
    // `Authorization: NTLM` pins the destination connection to this client connection (pinned-origin.ts).
    const { first, second, reused } = await twoRequests('pinned', (socket) => socket.write(answer('first')), true, { between: unsolicitedFirst, firstFields: NTLM });
    expect(first.body).toBe('first');
    expect(second.headers['x-unsolicited']).toBeUndefined();
    expect(second.body).toBe('true answer to /pinned-same-second');
    expect(reused).toBe(false);
  });

  it('never hand the next request a pinned connection the destination closed while it was idle', async () => {
    const { second, reused } = await twoRequests('pinned-eof', (socket) => socket.write(answer('first')), true, { between: eofFirst, firstFields: NTLM });
    expect(second.status).toBe(200);
    expect(second.body).toBe('true answer to /pinned-eof-same-second');
    expect(reused).toBe(false);
  });

  it('are never the answer to the next request on a pinned connection: an answer that reached the proxy as that request did', async () => {
    const { second, reused } = await twoRequests('pinned-alongside', (socket) => socket.write(answer('first')), true, { alongside: (carrier) => carrier.write(EVIL), firstFields: NTLM });
    expect(second.headers['x-unsolicited']).toBeUndefined();
    expect(second.body).toBe('true answer to /pinned-alongside-same-second');
    expect(reused).toBe(false);
  });
});
