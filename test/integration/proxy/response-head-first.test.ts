import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as deadline } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A response whose head comes before its body (an event stream, a long poll, an answer still being
 * made) reaches the client with its head at once, as a direct connection gives it, not with a first
 * body byte that may be minutes away: a client with a response-header timeout would give up on a
 * destination that answered. Both relays: the fast lane and node:http (after a request with a body).
 */
const STREAM_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
/** How long the head may take before the test calls it held back (it takes milliseconds). */
const HEAD_DEADLINE_MS = 5_000;

describe('a response head sent before its body', () => {
  let streams: HeadOrigin;
  let echo: Origin;
  let proxy: StartedProxy;
  const waiting: Socket[] = [];
  let headArrived: () => void = () => undefined;

  beforeAll(async () => {
    streams = await headOrigin((socket) => {
      socket.write(STREAM_HEAD);
      waiting.push(socket);
      headArrived();
    });
    echo = await startOrigin();
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), streams.close(), echo.close()]);
  });

  /** The origin's socket once it has sent its head (and nothing more). */
  function nextStream(): Promise<Socket> {
    return new Promise((resolve) => {
      headArrived = () => {
        const socket = waiting.shift();
        if (socket !== undefined) resolve(socket);
      };
    });
  }

  it('fast lane: the client has the head while the destination still holds its body', async () => {
    const origin = nextStream();
    const req = request({ host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${String(streams.port)}/events` });
    req.end();
    const first = await Promise.race([once(req, 'response').then(([res]) => res as IncomingMessage), deadline(HEAD_DEADLINE_MS, 'head held back')]);
    expect(typeof first === 'string' ? first : first.statusCode).toBe(200);
    if (typeof first === 'string') return;
    expect(first.headers['content-type']).toBe('text/event-stream');
    (await origin).end('5\r\nhello\r\n0\r\n\r\n');
    let body = '';
    first.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    await once(first, 'end');
    expect(body).toBe('hello');
  });

  it('node:http: after a request with a body on the same connection, the head still comes at once', async () => {
    const origin = nextStream();
    const client = await RawClient.open(proxy.port);
    client.write(`POST ${echo.url}/sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello`);
    expect((await client.readResponse()).status).toBe(200);
    client.write(`GET http://127.0.0.1:${String(streams.port)}/events HTTP/1.1\r\nHost: x\r\n\r\n`);
    const head = await Promise.race([client.readUntil('\r\n\r\n'), deadline(HEAD_DEADLINE_MS, 'head held back')]);
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    (await origin).end('5\r\nhello\r\n0\r\n\r\n');
    expect(await client.readUntil('0\r\n\r\n')).toBe('5\r\nhello\r\n0\r\n\r\n');
    client.destroy();
  });
});
