import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { sendRaw as send } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { startTransparent, type DirectTransparent } from '../transparent/direct-listener.js';

// node:http keeps only the first 1,000 header lines of a message unless told otherwise
// (maxHeadersCount): those after are parsed (llhttp frames the body by them) but dropped from
// rawHeaders, so a Transfer-Encoding or Content-Length past the 1,000th never reached the proxy's
// framing and the body was not forwarded. `limits.max_header_bytes` bounds a head; its number of
// lines is not limited apart from that, on every listener, nor on a response relayed from an
// upstream proxy through node:http's client.

/** 1,200 header lines (about 11 KB: under the destination's own 16 KiB limit). */
const MANY = Array.from({ length: 1200 }, (_, i) => `A${String(i)}: b\r\n`).join('');
const CHUNKED_HELLO = 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';

describe('a request with more than 1,000 header lines', () => {
  let origin: Origin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await startOrigin({ anyHeaderCount: true });
    proxy = await startProxy({ decider: createFakeDecider(), limits: { maxHeaderBytes: 32_768 } });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('keeps the framing of its last lines: a chunked body reaches the destination whole', async () => {
    const response = await send(proxy.port, `POST ${origin.url}/sha256 HTTP/1.1\r\nHost: x\r\n${MANY}${CHUNKED_HELLO}`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ bytes: 5 });
  });

  it('keeps a Content-Length past the 1,000th line', async () => {
    const response = await send(proxy.port, `POST ${origin.url}/echo HTTP/1.1\r\nHost: x\r\n${MANY}X-Last: kept\r\nContent-Length: 5\r\n\r\nhello`);
    expect(response.status).toBe(200);
    expect(origin.requests.at(-1)).toMatchObject({ url: '/echo', bodyBytes: 5 });
  });

  it('an h2c upgrade taken as an ordinary request keeps them too (its head is rebuilt from them)', async () => {
    const upgrade = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';
    const response = await send(proxy.port, `POST ${origin.url}/sha256 HTTP/1.1\r\nHost: x\r\n${MANY}${upgrade}${CHUNKED_HELLO}`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ bytes: 5 });
  });
});

describe('more than 1,000 header lines on the transparent listener', () => {
  let origin: Origin;
  let transparent: DirectTransparent;

  beforeAll(async () => {
    origin = await startOrigin({ anyHeaderCount: true });
    transparent = await startTransparent({ decider: createFakeDecider(), limits: { maxHeaderBytes: 32_768 } });
  });

  afterAll(async () => {
    await Promise.all([transparent.close(), origin.close()]);
  });

  it('keep the framing of the last ones: a chunked body reaches the destination whole', async () => {
    const response = await send(transparent.port, `POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\n${MANY}${CHUNKED_HELLO}`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ bytes: 5 });
  });
});

describe('a response with more than 1,000 header lines from an upstream proxy', () => {
  let upstream: HeadOrigin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    upstream = await headOrigin((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\n${MANY}X-Last: kept\r\nContent-Length: 5\r\n\r\nhello`);
    });
    const via = parseUpstreamProxyUrl(`http://127.0.0.1:${String(upstream.port)}`);
    if (typeof via === 'string') throw new Error(via);
    proxy = await startProxy({ decider: createFakeDecider(), connector: createConnector({ upstream: { source: 'config', https: via, http: via, noProxy: [], ignored: [] } }) });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), upstream.close()]);
  });

  it('is relayed with all of them, its Content-Length included', async () => {
    const response = await send(proxy.port, 'GET http://127.0.0.1:9/many HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(response.status).toBe(200);
    expect(response.headers['a1199']).toBe('b');
    expect(response.headers['x-last']).toBe('kept');
    expect(response.headers['content-length']).toBe('5');
    expect(response.body).toBe('hello');
  });
});
