import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { headOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// The pool behind the proxy's own HTTP/1.1 client (src/proxy/origin-pool.ts): at most 256
// connections to one destination with the rest queued, a client that leaves takes its destination
// connection with it, and an answer given before the request body was read ends that connection.

function viaProxy(proxy: StartedProxy, url: string, agent: Agent): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxy.port, path: url, agent, headers: { Host: new URL(url).host } });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

let proxy: StartedProxy;

/**
 * A cut-short exchange and then a GET to the same origin: the origin answers `early` to a head
 * `isEarly` picks (before any body) and `ok` to the rest. Returns the early answer as the client saw
 * it and how many connections the origin saw for the two (2: the first was not reused).
 */
async function earlyAnswerThenGet(isEarly: (head: string) => boolean, early: string, request: (url: string) => string): Promise<{ status: number; body: string; connections: number }> {
  const connections: Socket[] = [];
  const origin = await headOrigin((socket, head) => {
    if (!connections.includes(socket)) connections.push(socket);
    socket.write(isEarly(head) ? early : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  try {
    const url = `http://127.0.0.1:${String(origin.port)}/early`;
    const client = await RawClient.open(proxy.port);
    client.write(request(url));
    const answer = await client.readResponse();
    client.destroy();
    const next = await RawClient.open(proxy.port);
    next.write(`GET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect((await next.readResponse()).body).toBe('ok');
    next.destroy();
    return { status: answer.status, body: answer.body, connections: connections.length };
  } finally {
    await origin.close();
  }
}


beforeAll(async () => {
  proxy = await startProxy({ decider: createFakeDecider(), limits: { maxConnections: 2_000 } });
});

afterAll(async () => {
  await proxy.close();
});

describe('the destination pool', () => {
  it('opens at most 256 connections to one destination and queues the rest: 300 concurrent requests all answered', async () => {
    let open = 0;
    let most = 0;
    // Holds every request until 256 are in at once (the pool's limit), then answers everything.
    let released = false;
    const held: Socket[] = [];
    const answer = (socket: Socket): void => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    };
    const origin = await headOrigin((socket) => {
      if (released) {
        answer(socket);
        return;
      }
      held.push(socket);
      if (held.length < 256) return;
      released = true;
      held.splice(0).forEach(answer);
    });
    origin.server.on('connection', (socket: Socket) => {
      most = Math.max(most, ++open);
      socket.once('close', () => open--);
    });
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    try {
      const url = `http://127.0.0.1:${String(origin.port)}/queued`;
      const answers = await Promise.all(Array.from({ length: 300 }, () => viaProxy(proxy, url, agent)));
      const bodies = await Promise.all(
        answers.map(async (res) => {
          let body = '';
          res.setEncoding('latin1');
          res.on('data', (chunk: string) => (body += chunk));
          await once(res, 'end');
          return `${String(res.statusCode)} ${body}`;
        }),
      );
      expect(new Set(bodies)).toEqual(new Set(['200 ok']));
      expect(bodies).toHaveLength(300);
      expect(most).toBe(256);
    } finally {
      agent.destroy();
      await origin.close();
    }
  });

  it('closes the destination connection when the client leaves mid-answer', async () => {
    const origin = await headOrigin((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(1000)}`);
    });
    try {
      const client = await RawClient.open(proxy.port);
      client.write(`GET http://127.0.0.1:${String(origin.port)}/long HTTP/1.1\r\nHost: x\r\n\r\n`);
      await client.readUntil('xxxx');
      const [held] = [...origin.sockets];
      expect(held).toBeDefined();
      const closed = once(held as Socket, 'close');
      client.destroy();
      await closed;
      expect(origin.sockets.size).toBe(0);
    } finally {
      await origin.close();
    }
  });

  it('relays a final answer to `Expect: 100-continue` that came without the 100, and never reuses that connection', async () => {
    // The body is never sent: the client waits for a 100 that does not come.
    const seen = await earlyAnswerThenGet(
      (head) => head.includes('Expect: 100-continue'),
      'HTTP/1.1 417 Expectation Failed\r\nContent-Length: 4\r\n\r\nnope',
      (url) => `PUT ${url} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n`,
    );
    expect(seen).toEqual({ status: 417, body: 'nope', connections: 2 });
  });

  it('relays an answer given before the request body was read, and never reuses that connection', async () => {
    const seen = await earlyAnswerThenGet(
      (head) => head.startsWith('POST'),
      'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\n\r\nbig!',
      (url) => `POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${'y'.repeat(1000)}`,
    );
    expect(seen).toEqual({ status: 413, body: 'big!', connections: 2 });
  });
});
