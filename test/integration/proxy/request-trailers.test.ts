import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// A request's trailers pass the filter its head does (RFC 9110 §6.5.1: a trailer must not carry
// what only a header can say): never the Proxy-Authorization meant for the proxy (the README
// promises it is never forwarded), no other credential, cookie, framing or routing field, and
// nothing the head's Connection named; other trailers go on. Straight to the destination (the
// proxy's own client) and through an upstream proxy (node:http's client), where node:http stands
// in for the upstream proxy: it records the trailers of the absolute-form requests it reads.

/** A chunked POST through the proxy whose trailer section carries `trailers`; resolves with the answer. */
function postWithTrailers(proxyPort: number, url: string, trailers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, method: 'POST', path: url, agent: false, headers: { Host: 'x', Connection: 'keep-alive, X-Hop' } }, resolve);
    req.on('error', reject);
    req.write('hello');
    req.addTrailers(trailers);
    req.end();
  });
}

const TRAILERS = {
  'Proxy-Authorization': 'Basic c2VjcmV0',
  Authorization: 'Bearer token',
  Cookie: 'session=1',
  Host: 'evil.example',
  'X-Hop': 'gone',
  'X-Request-Checksum': 'r1',
};

describe.each(['direct', 'upstream'] as const)('request trailers (%s)', (route) => {
  let origin: Origin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await startOrigin();
    const via = parseUpstreamProxyUrl(origin.url);
    if (typeof via === 'string') throw new Error(via);
    proxy = await startProxy({
      decider: createFakeDecider(),
      ...(route === 'upstream' ? { connector: createConnector({ upstream: { source: 'config', https: via, http: via, noProxy: [], ignored: [] } }) } : {}),
    });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('reach the destination without credentials, framing, routing or hop-by-hop fields', async () => {
    const res = await postWithTrailers(proxy.port, `${origin.url}/trailers`, TRAILERS);
    res.resume();
    expect(res.statusCode).toBe(200);
    const seen = origin.requests.at(-1);
    expect(seen?.bodyBytes).toBe(5);
    expect(seen?.trailers).toEqual({ 'x-request-checksum': 'r1' });
  });
});
