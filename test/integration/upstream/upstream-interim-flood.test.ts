import { setTimeout as deadline } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { EARLY_HINT, floodInterim, headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startSquid, type Squid } from '../../helpers/squid.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';

/**
 * Through the upstream proxy, an https:// destination speaks to our own client through Squid's
 * CONNECT (node:http's client, which it took before, reads interim answers without end). A destination that answers 103 Early
 * Hints forever (each under the head limit) is answered 502 KZP_ERR_UPSTREAM_PROTOCOL, as on the
 * direct path, not read for as long as the client waits.
 */
const ANSWER_DEADLINE_MS = 5_000;

describe('upstream_proxy: an endless stream of interim answers', () => {
  let squid: Squid;
  let ca: TestCa;
  let origin: HeadOrigin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    [squid, ca] = await Promise.all([startSquid(), createTestCa()]);
    origin = await headOrigin((socket, head) => {
      if (head.startsWith('GET /few ')) socket.write(`${EARLY_HINT}${EARLY_HINT}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
      else floodInterim(socket);
    }, { tls: ca });
    const via = parseUpstreamProxyUrl(squid.url);
    if (typeof via === 'string') throw new Error(via);
    proxy = await startProxy({ connector: createConnector({ upstream: { source: 'config', https: via, http: via, noProxy: [], ignored: [] } }), upstreamCa: [ca.caPem] });
  });

  afterAll(async () => {
    await proxy.close();
    await Promise.all([squid.stop(), origin.close(), ca.remove()]);
  });

  it('https:// through Squid: 502 KZP_ERR_UPSTREAM_PROTOCOL, not left waiting', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET https://localhost:${String(origin.port)}/page HTTP/1.1\r\nHost: localhost:${String(origin.port)}\r\nConnection: close\r\n\r\n`);
    // The 103s within the 64 KiB budget are relayed, then the 502.
    const head = await Promise.race([client.readUntil('HTTP/1.1 502 ').then(() => client.readUntil('\r\n\r\n')), deadline(ANSWER_DEADLINE_MS, 'no answer')]);
    client.destroy();
    expect(head).toContain('X-Kaizen-Error: KZP_ERR_UPSTREAM_PROTOCOL');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['status'] === 502);
    expect(closed['code']).toBe('KZP_ERR_UPSTREAM_PROTOCOL');
  });

  it('a few interim answers under the limit still reach the final one', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET https://localhost:${String(origin.port)}/few HTTP/1.1\r\nHost: localhost:${String(origin.port)}\r\nConnection: close\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toBe(EARLY_HINT);
    expect(await client.readUntil('\r\n\r\n')).toBe(EARLY_HINT);
    const answer = await client.readResponse();
    client.destroy();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
  });
});
