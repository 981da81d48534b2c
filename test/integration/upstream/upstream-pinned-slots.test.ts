import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectionAuthOrigin, type ConnectionAuthOrigin } from '../../helpers/connection-auth-origin.js';
import { startDirectAndViaParent } from '../../helpers/direct-and-parent.js';
import { startPassthroughParent, type PassthroughParent } from '../../helpers/passthrough-parent.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A destination connection kept for the client that authenticated it (NTLM, Negotiate:
 * pinned-origin.ts) leaves the shared pool, and with it the pool's count of 256 connections per
 * destination. Counted, 256 clients that each began a handshake left every other request to that
 * destination waiting for ever, and through upstream_proxy, where one pool carries every
 * destination to the parent, every plain request of every client.
 */
const PER_DESTINATION = 256;

let origin: ConnectionAuthOrigin;
let parent: PassthroughParent;
let direct: StartedProxy;
let viaParent: StartedProxy;
let url: string;

beforeAll(async () => {
  [origin, parent] = await Promise.all([startConnectionAuthOrigin('127.0.0.1'), startPassthroughParent('kaizen', 'secret')]);
  url = `http://127.0.0.1:${origin.port}/`;
  [direct, viaParent] = await startDirectAndViaParent(parent, 'kaizen', 'secret', { limits: { maxConnections: 2 * PER_DESTINATION + 50 } });
});

afterAll(async () => {
  await Promise.all([direct.close(), viaParent.close(), parent.close(), origin.close()]);
});

describe.each([
  ['straight to the destination', () => direct],
  ['through upstream_proxy', () => viaParent],
])('kept connections, %s', (_name, proxy) => {
  it('256 clients mid-handshake leave room for everyone else, and each still finishes its own', async () => {
    const port = proxy().port;
    const before = origin.accepted;
    const challenged = await Promise.all(
      Array.from({ length: PER_DESTINATION }, async () => {
        const client = await RawClient.open(port);
        client.write(`GET ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: NTLM T1negotiate\r\n\r\n`);
        const answer = await client.readResponse();
        expect(answer.status).toBe(401);
        expect(answer.body).toBe('challenge');
        return client;
      }),
    );

    expect(origin.accepted).toBe(before + PER_DESTINATION);
    // Counted, the request below waited until kept connections idled out (4 s) and closed.
    let closedEarly = 0;
    for (let id = before + 1; id <= before + PER_DESTINATION; id++) {
      void origin.closedConnection(id).then(() => {
        closedEarly++;
      });
    }

    // A client with no handshake of its own is answered, on a connection of its own.
    const other = await RawClient.open(port);
    other.write(`GET ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const plain = await other.readResponse();
    expect(plain.status).toBe(401);
    expect(plain.body).toBe('who are you');
    expect(closedEarly).toBe(0);
    expect(origin.accepted).toBe(before + PER_DESTINATION + 1);

    // The first and the last challenged clients finish their handshakes on their kept connections.
    for (const [index, client] of [challenged[0], challenged[PER_DESTINATION - 1]].entries()) {
      if (client === undefined) throw new Error('no client');
      client.write(`GET ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: NTLM T3user${index}\r\n\r\n`);
      const done = await client.readResponse();
      expect(done.status).toBe(200);
      expect(done.body).toMatch(new RegExp(` user=user${index}$`));
      const served = Number(/^conn=(\d+) /.exec(done.body)?.[1]);
      expect(served).toBeGreaterThan(before);
      expect(served).toBeLessThanOrEqual(before + PER_DESTINATION);
    }
    expect(origin.accepted).toBe(before + PER_DESTINATION + 1);

    for (const client of [...challenged, other]) client.destroy();
    await Promise.all([...challenged, other].map((client) => client.closed));
  });
});
