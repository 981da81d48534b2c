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

async function ask(client: RawClient, path: string, method = 'GET'): Promise<RawResponse> {
  const body = method === 'POST' ? 'Content-Length: 4\r\n\r\nbody' : '\r\n';
  client.write(`${method} ${url(path)} HTTP/1.1\r\nHost: x\r\n${body}`);
  return client.readResponse();
}

/**
 * One request answered by `misbehave`, then (after `between`, with the first answer relayed) a
 * second request (a POST: never sent again, so a retry cannot hide a dead connection handed out),
 * on the same client connection or on another one. Returns both answers.
 */
async function twoRequests(
  name: string,
  misbehave: Misbehaviour,
  sameClient: boolean,
  between: (socket: Socket) => Promise<void> = () => Promise.resolve(),
): Promise<{ first: RawResponse; second: RawResponse }> {
  const firstPath = `/${name}-${sameClient ? 'same' : 'other'}-first`;
  const secondPath = `/${name}-${sameClient ? 'same' : 'other'}-second`;
  scripts.set(firstPath, misbehave);
  const client = await RawClient.open(proxy.port);
  const first = await ask(client, firstPath);
  const carrier = carriedBy.get(firstPath);
  if (carrier === undefined) throw new Error('the origin never saw the first request');
  await between(carrier);
  let second: RawResponse;
  if (sameClient) second = await ask(client, secondPath, 'POST');
  else {
    const other = await RawClient.open(proxy.port);
    second = await ask(other, secondPath, 'POST');
    other.destroy();
  }
  client.destroy();
  expect(carriedBy.get(secondPath)).not.toBe(carrier);
  return { first, second };
}

describe('bytes a destination sends beyond its answer', () => {
  for (const sameClient of [true, false]) {
    const who = sameClient ? 'the same client connection' : 'another client connection';

    it(`are never the answer to the next request on ${who}: Content-Length 5 and 12 bytes`, async () => {
      const { first, second } = await twoRequests('overlong', (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirstSURPLUS'), sameClient);
      expect(first.status).toBe(200);
      expect(first.body).toBe('first');
      expect(second.status).toBe(200);
      expect(second.body).toBe(`true answer to /overlong-${sameClient ? 'same' : 'other'}-second`);
    });

    it(`are never the answer to the next request on ${who}: a second answer in the same write`, async () => {
      const { first, second } = await twoRequests('second', (socket) => socket.write(answer('first') + EVIL), sameClient);
      expect(first.body).toBe('first');
      expect(second.headers['x-unsolicited']).toBeUndefined();
      expect(second.body).toBe(`true answer to /second-${sameClient ? 'same' : 'other'}-second`);
    });

    it(`are never the answer to the next request on ${who}: an answer arriving while the connection is idle`, async () => {
      const { first, second } = await twoRequests('idle', (socket) => socket.write(answer('first')), sameClient, async (carrier) => {
        // In the proxy's socket before the next request is written (loopback): read first.
        await new Promise<void>((resolve) => carrier.write(EVIL, () => { resolve(); }));
      });
      expect(first.body).toBe('first');
      expect(second.headers['x-unsolicited']).toBeUndefined();
      expect(second.body).toBe(`true answer to /idle-${sameClient ? 'same' : 'other'}-second`);
    });

    it(`never hand the next request on ${who} a connection the destination closed while it was idle`, async () => {
      const { second } = await twoRequests('eof', (socket) => socket.write(answer('first')), sameClient, async (carrier) => {
        await new Promise<void>((resolve) => carrier.end(() => { resolve(); }));
      });
      expect(second.status).toBe(200);
      expect(second.body).toBe(`true answer to /eof-${sameClient ? 'same' : 'other'}-second`);
    });
  }
});
