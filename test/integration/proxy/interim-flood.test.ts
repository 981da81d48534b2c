import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as deadline } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EARLY_HINT, floodInterim, headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A destination an agent was steered to answers with interim (1xx) heads and never a final one:
 * 103 Early Hints with large Link fields, without end. Each head alone is under the limit. They
 * count against the head limit together with the final head (as Go's client counts them), so the
 * client reads a 502 instead of waiting forever while the proxy parses the flood at full speed.
 */
/** How long the 502 may take (the flood passes the 64 KiB or 16 KiB limit within milliseconds). */
const ANSWER_DEADLINE_MS = 5_000;

describe('an endless stream of interim answers', () => {
  let hints: HeadOrigin;
  let fewHints: HeadOrigin;
  let proxy: StartedProxy;
  const flooded: Socket[] = [];

  beforeAll(async () => {
    hints = await headOrigin((socket) => {
      flooded.push(socket);
      floodInterim(socket);
    });
    // Two 103s, then the answer: interim heads within the limit still pass.
    fewHints = await headOrigin((socket) => {
      socket.write(`${EARLY_HINT}${EARLY_HINT}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
    });
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), hints.close(), fewHints.close()]);
  });

  it('a plain request is answered 502 KZP_ERR_UPSTREAM_PROTOCOL, not left waiting', async () => {
    const req = request({ host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${String(hints.port)}/page` });
    req.on('error', () => undefined);
    // The 103s within the 64 KiB budget are relayed (RFC 9110 §15.2), then the 502.
    let relayed = 0;
    req.on('information', () => relayed++);
    req.end();
    const res = await Promise.race([once(req, 'response').then(([answer]) => answer as IncomingMessage), deadline(ANSWER_DEADLINE_MS, 'no answer')]);
    if (typeof res === 'string') req.destroy();
    expect(typeof res === 'string' ? res : res.statusCode).toBe(502);
    if (typeof res === 'string') return;
    expect(res.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_PROTOCOL');
    expect(relayed).toBeGreaterThan(0);
    expect(relayed * EARLY_HINT.length).toBeLessThanOrEqual(64 * 1024);
    res.resume();
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['status'] === 502);
    expect(closed['code']).toBe('KZP_ERR_UPSTREAM_PROTOCOL');
    // The proxy stops reading the flood: it closes its connection to the destination.
    const origin = flooded.at(-1);
    const gone = origin === undefined || origin.destroyed ? 'closed' : await Promise.race([closeOf(origin), deadline(ANSWER_DEADLINE_MS, 'still open')]);
    expect(gone).toBe('closed');
  });

  it('a request with a body (node:http relay) is answered 502 too', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`POST http://127.0.0.1:${String(hints.port)}/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`);
    // The 103s within the 64 KiB budget are relayed, then the 502.
    const head = await Promise.race([client.readUntil('HTTP/1.1 502 ').then(() => client.readUntil('\r\n\r\n')), deadline(ANSWER_DEADLINE_MS, 'no answer')]);
    client.destroy();
    expect(head).toContain('X-Kaizen-Error: KZP_ERR_UPSTREAM_PROTOCOL');
  });

  it('a WebSocket upgrade is answered 502, never tunnelled', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(
      `GET http://127.0.0.1:${String(hints.port)}/socket HTTP/1.1\r\nHost: 127.0.0.1:${String(hints.port)}\r\nConnection: Upgrade\r\n` +
        'Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    // The 103s within the 16 KiB budget before a 101 are relayed, then the 502.
    const head = await Promise.race([client.readUntil('HTTP/1.1 502 ').then(() => client.readUntil('\r\n\r\n')), deadline(ANSWER_DEADLINE_MS, 'no answer')]);
    client.destroy();
    expect(head).toContain('X-Kaizen-Error: KZP_ERR_UPSTREAM_PROTOCOL');
  });

  it('a few interim heads under the limit still reach their final answer', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET http://127.0.0.1:${String(fewHints.port)}/page HTTP/1.1\r\nHost: x\r\n\r\n`);
    // Both relayed, as they came, then the answer.
    expect(await client.readUntil('\r\n\r\n')).toBe(EARLY_HINT);
    expect(await client.readUntil('\r\n\r\n')).toBe(EARLY_HINT);
    const answer = await client.readResponse();
    client.destroy();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
  });
});

/** Resolves when `socket` closes; unlike once(), not rejected by its 'error' (a reset by the proxy's close). */
function closeOf(socket: Socket): Promise<'closed'> {
  return new Promise((resolve) => {
    socket.once('close', () => {
      resolve('closed');
    });
  });
}
