import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../src/gateway/authenticate.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { headOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// The fast lane (src/proxy/fast-lane.ts): body-less absolute-form requests are served by the lane,
// the first request it does not take hands the connection, bytes read so far included, to
// node:http for good. These tests hold both paths to the same answers on real sockets.

function get(url: string, extra = ''): string {
  return `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n${extra}\r\n`;
}

function post(url: string, body: Buffer): Buffer {
  const head = `POST ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function urlOf(body: string): string {
  return (JSON.parse(body) as { url: string }).url;
}

describe('the fast lane and its hand-over to node:http', () => {
  let a: Origin;
  let b: Origin;
  let c: Origin;
  let proxy: StartedProxy;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const decider = createFakeDecider({ block: ['blocked.test'], hold: { targets: ['held.localhost'], until: held } });

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startOrigin(), startOrigin(), startOrigin()]);
    proxy = await startProxy({ decider, resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }) });
  });

  afterAll(async () => {
    release();
    await Promise.all([proxy.close(), a.close(), b.close(), c.close()]);
  });

  it('serves GET (lane), then POST with a body (hand-over), then GET (node:http) on one connection, each to its own origin', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(get(`${a.url}/ho-1`));
    const first = await client.readResponse();
    expect(first.status).toBe(200);
    expect(urlOf(first.body)).toBe('/ho-1');

    const body = randomBytes(4096);
    client.write(post(`${b.url}/sha256`, body));
    const second = await client.readResponse();
    expect(second.status).toBe(200);
    expect(JSON.parse(second.body)).toEqual({ bytes: body.length, sha256: sha256(body) });

    client.write(get(`${c.url}/ho-3`));
    const third = await client.readResponse();
    expect(third.status).toBe(200);
    expect(urlOf(third.body)).toBe('/ho-3');
    client.destroy();

    expect(a.requests.filter((r) => r.url.startsWith('/ho-')).map((r) => r.url)).toEqual(['/ho-1']);
    expect(b.requests.filter((r) => r.url === '/sha256').map((r) => r.bodyBytes)).toEqual([4096]);
    expect(c.requests.filter((r) => r.url.startsWith('/ho-')).map((r) => r.url)).toEqual(['/ho-3']);
  });

  it('hands over a POST pipelined behind a GET in one write, its bytes intact, and serves a GET after it', async () => {
    // Larger than max_header_bytes, so the lane also stops reading ahead while the GET is in flight.
    const body = randomBytes(200_000);
    const client = await RawClient.open(proxy.port);
    client.write(Buffer.concat([Buffer.from(get(`${a.url}/pipe-get`), 'latin1'), post(`${b.url}/sha256`, body), Buffer.from(get(`${c.url}/pipe-after`), 'latin1')]));
    const first = await client.readResponse();
    expect(urlOf(first.body)).toBe('/pipe-get');
    const second = await client.readResponse();
    expect(JSON.parse(second.body)).toEqual({ bytes: body.length, sha256: sha256(body) });
    const third = await client.readResponse();
    expect(urlOf(third.body)).toBe('/pipe-after');
    client.destroy();
  });

  it('answers two GETs pipelined in one write in order, deciding the second only after the first is answered', async () => {
    const before = decider.calls.length;
    const client = await RawClient.open(proxy.port);
    const heldUrl = `http://held.localhost:${a.port}/pipe-first`;
    client.write(get(heldUrl) + get(`${b.url}/pipe-second`));
    await decider.waitForCall((call) => call.action.target === `held.localhost:${a.port}`);
    // A whole exchange on another connection: time enough for a lane that did not wait to start the second.
    const other = await RawClient.open(proxy.port);
    other.write(get(`${c.url}/pipe-other`));
    expect(urlOf((await other.readResponse()).body)).toBe('/pipe-other');
    other.destroy();
    release();
    const first = await client.readResponse();
    const second = await client.readResponse();
    client.destroy();
    expect([first.status, urlOf(first.body), second.status, urlOf(second.body)]).toEqual([200, '/pipe-first', 200, '/pipe-second']);
    expect(decider.calls.slice(before).map((call) => call.action.target)).toEqual([`held.localhost:${a.port}`, `127.0.0.1:${c.port}`, `127.0.0.1:${b.port}`]);
  });

  it('answers a blocked lane request 403 with the X-Kaizen headers and a JSON body, and keeps the connection usable', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(get(`http://blocked.test:${a.port}/nope`));
    const denied = await client.readResponse();
    expect(denied.status).toBe(403);
    expect(denied.headers['x-kaizen-decision']).toBe('block');
    expect(denied.headers['x-kaizen-reason']).toBe(`policy forbids blocked.test:${a.port}`);
    expect(denied.headers['content-type']).toBe('application/json');
    expect(denied.headers['date']).toMatch(/ GMT$/);
    expect(denied.headers['connection']).toBe('keep-alive');
    expect(JSON.parse(denied.body)).toMatchObject({ error: 'KZP_ERR_BLOCKED', target: `blocked.test:${a.port}`, verdict_id: 'v-test-block' });
    client.write(get(`${a.url}/after-block`));
    const next = await client.readResponse();
    expect([next.status, urlOf(next.body)]).toEqual([200, '/after-block']);
    // The same refusal from node:http (a Content-Length keeps the request out of the lane): the same head, Date aside.
    client.write(`GET http://blocked.test:${a.port}/nope HTTP/1.1\r\nHost: blocked.test:${a.port}\r\nContent-Length: 0\r\n\r\n`);
    const viaNode = await client.readResponse();
    client.destroy();
    const withoutDate = (head: string): string => head.replace(/\r\nDate: [^\r]+/, '');
    expect(withoutDate(denied.head)).toBe(withoutDate(viaNode.head));
    expect(denied.body).toBe(viaNode.body);
    expect(a.requests.some((r) => r.url === '/nope')).toBe(false);
  });

  it('leaves a method node:http does not know to node:http: 400 KZP_ERR_BAD_REQUEST, nothing decided, the destination untouched', async () => {
    // http1-request-head.ts: the lane takes a subset of what llhttp accepts, never more.
    const seen: string[] = [];
    const origin = await headOrigin((socket, head) => {
      seen.push(head);
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    try {
      const before = decider.calls.length;
      const client = await RawClient.open(proxy.port);
      client.write(`FOO http://127.0.0.1:${origin.port}/unknown-method HTTP/1.1\r\nHost: x\r\n\r\n`);
      const reply = await client.readResponse();
      client.destroy();
      expect([reply.status, reply.headers['x-kaizen-error']]).toEqual([400, 'KZP_ERR_BAD_REQUEST']);
      expect(decider.calls.length - before).toBe(0);
      expect(seen).toEqual([]);
    } finally {
      await origin.close();
    }
  });

  it.each([
    ['resets (destroy)', (client: RawClient) => { client.destroy(); }],
    ['half-closes (FIN)', (client: RawClient) => { client.socket.end(); }],
  ])('closes the destination connection when the client %s mid-answer', async (_name, leave) => {
    const origin = await headOrigin((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(1000)}`);
    });
    try {
      const client = await RawClient.open(proxy.port);
      client.write(get(`http://127.0.0.1:${origin.port}/long`));
      await client.readUntil('xxxx');
      const [upstream] = [...origin.sockets];
      expect(upstream).toBeDefined();
      const closed = once(upstream as Socket, 'close');
      leave(client);
      await closed;
      await client.closed;
      expect(origin.sockets.size).toBe(0);
    } finally {
      await origin.close();
    }
  });
});

describe('gateway mode on the lane', () => {
  it('challenges a request without credentials 407 as node:http does, and decides one with them as its agent', async () => {
    const origin = await startOrigin();
    const decider = createFakeDecider();
    const authenticate = createAuthenticator([{ agent: 'lane-agent', sha256: sha256(Buffer.from('t1')) }]);
    const proxy = await startProxy({ decider, authenticate });
    try {
      const client = await RawClient.open(proxy.port);
      client.write(get(`${origin.url}/no-creds`));
      const challenged = await client.readResponse();
      expect(challenged.status).toBe(407);
      expect(challenged.headers['proxy-authenticate']).toBe('Basic realm="kaizen-proxy"');
      client.write(get(`${origin.url}/no-creds`, 'Content-Length: 0\r\n'));
      const viaNode = await client.readResponse();
      const withoutDate = (head: string): string => head.replace(/\r\nDate: [^\r]+/, '');
      expect(withoutDate(challenged.head)).toBe(withoutDate(viaNode.head));

      const next = await RawClient.open(proxy.port);
      next.write(get(`${origin.url}/creds`, `Proxy-Authorization: Basic ${Buffer.from('lane-agent:t1').toString('base64')}\r\n`));
      const answer = await next.readResponse();
      client.destroy();
      next.destroy();
      expect([answer.status, urlOf(answer.body)]).toEqual([200, '/creds']);
      expect(decider.calls.map((call) => [call.agent, call.action.metadata.path])).toEqual([['lane-agent', '/creds']]);
      expect(origin.requests.map((r) => [r.url, r.headers['proxy-authorization']])).toEqual([['/creds', undefined]]);
    } finally {
      await Promise.all([proxy.close(), origin.close()]);
    }
  });
});

describe('graceful close with lane connections', () => {
  it('closes an idle lane connection at once and lets a lane request in flight finish with Connection: close', async () => {
    let release: () => void = () => undefined;
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    const origin = await startOrigin();
    const decider = createFakeDecider({ hold: { targets: ['localhost'], until } });
    const proxy = await startProxy({ decider, limits: { drainTimeoutMs: 30_000 } });
    try {
      const idle = await RawClient.open(proxy.port);
      idle.write(get(`${origin.url}/idle`));
      const idleAnswer = await idle.readResponse();
      expect(idleAnswer.headers['connection']).toBe('keep-alive');

      const inflight = await RawClient.open(proxy.port);
      inflight.write(get(`http://localhost:${origin.port}/in-flight`));
      await decider.waitForCall((call) => call.action.target === `localhost:${origin.port}`);

      const closing = proxy.close();
      await idle.closed;
      // The idle connection went while the in-flight request was still held (drain would wait 30 s for it).
      expect(origin.requests.some((r) => r.url === '/in-flight')).toBe(false);
      expect(await idle.readToEnd()).toBe('');

      release();
      const response = await inflight.readResponse();
      expect(response.status).toBe(200);
      expect(urlOf(response.body)).toBe('/in-flight');
      expect(response.headers['connection']).toBe('close');
      expect(response.headers['keep-alive']).toBeUndefined();
      expect(await inflight.readToEnd()).toBe('');
      await closing;
      expect(proxy.server.activeConnections).toBe(0);
    } finally {
      release();
      await Promise.all([proxy.close(), origin.close()]);
    }
  });
});

describe('a lane refusal whose reason is not ASCII', () => {
  it('counts the UTF-8 bytes of its body in Content-Length and sends them intact', async () => {
    const reason = 'blocked — the policy says «no» to ünïcode';
    const proxy = await startProxy({
      decider: {
        decide: () =>
          Promise.resolve({ decision: 'block', enforce: 'refuse', reason, evidence: [], source: 'control_plane', verdictId: 'v-utf8', flagged: false, wouldBlock: false }),
      },
    });
    try {
      const client = await RawClient.open(proxy.port);
      client.write(get('http://127.0.0.1:9/utf8'));
      const denied = await client.readResponse();
      client.destroy();
      expect(denied.status).toBe(403);
      const bytes = Buffer.from(denied.body, 'latin1');
      expect(bytes.length).toBe(Number(denied.headers['content-length']));
      expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({ error: 'KZP_ERR_BLOCKED', reason });
    } finally {
      await proxy.close();
    }
  });
});
