import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../../helpers/raw-client.js';
import { startTransparent, type DirectTransparent } from './direct-listener.js';

/**
 * A request head the transparent listener refuses on its socket (a CONNECT, an upgrade without a
 * Host to take its destination from) is answered: the connection is no longer in flight for a
 * drain, though the refusal's close reads on what the client still sends (up to about 2 s). A
 * drain started then ends at once instead of waiting for that socket to close.
 */
const DRAIN_MS = 30_000;

let transparent: DirectTransparent | undefined;

afterEach(async () => {
  await transparent?.close();
  transparent = undefined;
});

describe('a head refused on the transparent listener, its client still connected', () => {
  it.each([
    ['a CONNECT', 'CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n'],
    ['an upgrade without a Host', 'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'],
  ])('%s: not in flight once answered, so a drain does not wait for its socket', async (_name, head) => {
    transparent = await startTransparent({ limits: { drainTimeoutMs: DRAIN_MS } });
    const client = await RawClient.open(transparent.port);
    client.write(head);
    const answer = await client.readResponse();
    expect(answer.status).toBe(400);
    // The client keeps its side open: the refusal's lingering close still holds the socket.
    expect(transparent.proxy.server.inFlight).toBe(0);

    await transparent.proxy.server.close();
    expect(transparent.proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
    client.destroy();
  });
});
