import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { startInterception, type Interception } from '../../helpers/interception.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { sendRaw as send } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { exchange, tlsThrough } from '../intercept/tunnel-client.js';
import { startTransparent, type DirectTransparent } from '../transparent/direct-listener.js';

// A `Connection` token names fields for this hop alone, which the proxy removes; naming the
// message's own framing (Content-Length, Transfer-Encoding) or its Host that way is what no sender
// may do (RFC 9110 §7.6.1). Forwarded without its Content-Length, a body on a keep-alive
// connection is read by the destination as a second request that never got a verdict (and its
// answer then goes to whichever request is next on that pooled connection). Such a request is
// refused 400 and never forwarded, on every path that forwards plain HTTP.

/** A request the destination, were the body forwarded unframed, would read as a DELETE to another host. */
const SMUGGLED = 'DELETE /v1/customers/42 HTTP/1.1\r\nHost: blocked.test\r\nContent-Length: 0\r\n\r\n';

function smuggling(target: string, host: string, method = 'POST'): string {
  return `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${String(SMUGGLED.length)}\r\n\r\n${SMUGGLED}`;
}

describe('a request whose Connection names its own framing, on the proxy port', () => {
  let origin: Origin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ decider: createFakeDecider({ block: ['blocked.test'] }) });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('is refused 400 KZP_ERR_BAD_REQUEST: neither it nor the request in its body reaches the destination', async () => {
    const response = await send(proxy.port, smuggling(`${origin.url}/harmless`, 'x'));
    expect(response.status).toBe(400);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
    expect(response.headers.connection).toBe('close');
    expect(origin.requests).toEqual([]);
    expect(origin.connections).toBe(0);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['code'] === 'KZP_ERR_BAD_REQUEST');
    expect(closed).toMatchObject({ status: 400 });
  });

  it('a request without a body (the fast lane takes those) is refused 400 the same way', async () => {
    const response = await send(proxy.port, `GET ${origin.url}/lean HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\n\r\n`);
    expect(response.status).toBe(400);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
    expect(origin.requests).toEqual([]);
  });

  it('other Connection tokens still remove the fields they name, and the request goes', async () => {
    const response = await send(proxy.port, `POST ${origin.url}/hop HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: gone\r\nContent-Length: 2\r\n\r\nok`);
    expect(response.status).toBe(200);
    const seen = origin.requests.find((request) => request.url === '/hop');
    expect(seen).toMatchObject({ method: 'POST', bodyBytes: 2 });
    expect(seen?.headers['x-hop']).toBeUndefined();
    expect(seen?.headers['content-length']).toBe('2');
  });
});

describe('the pooled destination connection after such a request', () => {
  let origin: HeadOrigin;
  let proxy: StartedProxy;
  /** Heads the destination read, in order. */
  const heads: string[] = [];

  beforeAll(async () => {
    // A destination that reads heads and answers in order, as HTTP/1.1 requires: a request it
    // finds in a body it was never told the length of is answered before the next one.
    const held = new Set<Socket>();
    origin = await headOrigin((socket, head) => {
      heads.push(head.split('\r\n')[0] ?? '');
      const path = head.split(' ')[1] ?? '';
      if (path === '/smuggled') {
        held.add(socket);
        return;
      }
      if (held.delete(socket)) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled');
      const body = path.slice(1);
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(body.length)}\r\n\r\n${body}`);
    });
    proxy = await startProxy({ decider: createFakeDecider() });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it("never hands another client the answer to a request hidden in the first one's body", async () => {
    const base = `http://127.0.0.1:${String(origin.port)}`;
    const hidden = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    const first = await send(proxy.port, `POST ${base}/harmless HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${String(hidden.length)}\r\n\r\n${hidden}`);
    expect(first.status).toBe(400);
    const second = await send(proxy.port, `GET ${base}/victim HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(second.status).toBe(200);
    expect(second.body).toBe('victim');
    expect(heads).toEqual(['GET /victim HTTP/1.1']);
  });
});

describe('a request whose Connection names its own framing, on the other listeners', () => {
  it('the transparent listener refuses it 400 and forwards nothing', async () => {
    const origin = await startOrigin();
    const transparent: DirectTransparent = await startTransparent();
    try {
      const response = await send(transparent.port, smuggling('/harmless', `127.0.0.1:${String(origin.port)}`));
      expect(response.status).toBe(400);
      expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
      expect(origin.requests).toEqual([]);
    } finally {
      await Promise.all([transparent.close(), origin.close()]);
    }
  });

  it('an intercepted session refuses it 400 and forwards nothing', async () => {
    const setup: Interception = await startInterception();
    try {
      const tls = await tlsThrough(setup.proxy.port, setup.target, { ca: setup.ca.certPem, servername: 'api.stripe.com' });
      const answer = await exchange(tls, smuggling('/harmless', setup.target));
      tls.destroy();
      expect(answer.status).toBe(400);
      expect(answer.head).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_BAD_REQUEST\r\n/);
      expect(setup.origin.requests).toEqual([]);
    } finally {
      await setup.close();
    }
  });

  it('a request bound for an upstream proxy is refused 400 before it reaches the upstream', async () => {
    // node:http as the upstream proxy: it reads absolute-form requests and their bodies by their
    // framing. A DELETE: node:http's client would send a POST's unframed body chunked, a DELETE's raw.
    const upstream = await startOrigin();
    const via = parseUpstreamProxyUrl(upstream.url);
    if (typeof via === 'string') throw new Error(via);
    const proxy = await startProxy({ decider: createFakeDecider(), connector: createConnector({ upstream: { source: 'config', https: via, http: via, noProxy: [], ignored: [] } }) });
    try {
      const response = await send(proxy.port, smuggling('http://127.0.0.1:9/harmless', 'x', 'DELETE'));
      expect(response.status).toBe(400);
      expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
      expect(upstream.requests).toEqual([]);
    } finally {
      await Promise.all([proxy.close(), upstream.close()]);
    }
  });
});
