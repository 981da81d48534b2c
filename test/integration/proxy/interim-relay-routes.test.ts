import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { answerInterim, CLEAN_HINTS, PROCESSING } from '../../helpers/interim-origin.js';
import { startPassthroughParent, type PassthroughParent } from '../../helpers/passthrough-parent.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { startTransparent, type DirectTransparent } from '../transparent/direct-listener.js';

const run = promisify(execFile);

// Interim answers (interim-relay.test.ts) on the other places an ordinary request is forwarded:
// through upstream_proxy, inside an intercepted TLS session, and on the transparent listener.

/** Reads 102, the cleaned 103 and the 200 `ok` off a raw client. */
async function expectRelayed(client: RawClient): Promise<void> {
  expect(await client.readUntil('\r\n\r\n')).toBe(PROCESSING);
  expect(await client.readUntil('\r\n\r\n')).toBe(CLEAN_HINTS);
  const answer = await client.readResponse();
  expect(answer.status).toBe(200);
  expect(answer.body).toBe('ok');
}

describe('interim answers on every route of an ordinary request', () => {
  let origin: HeadOrigin;
  let tlsOrigin: HeadOrigin;
  let originCa: TestCa;
  let caDir: string;
  let ca: CertificateAuthority;
  let parent: PassthroughParent;
  let viaParent: StartedProxy;
  let intercepting: StartedProxy;
  let transparent: DirectTransparent;

  beforeAll(async () => {
    [origin, parent, originCa, caDir] = await Promise.all([
      headOrigin(answerInterim),
      startPassthroughParent('kaizen', 'secret'),
      createTestCa(['api.stripe.com']),
      mkdtemp(join(tmpdir(), 'kzp-interim-')),
    ]);
    tlsOrigin = await headOrigin(answerInterim, { tls: originCa });
    ca = await initCa(join(caDir, 'certs'), { name: 'kaizen-proxy interim test CA', days: 2, force: false });
    const upstream = parseUpstreamProxyUrl(`http://kaizen:secret@127.0.0.1:${String(parent.port)}`);
    if (typeof upstream === 'string') throw new Error(upstream);
    const resolve = (): Promise<{ ok: true; addresses: string[] }> => Promise.resolve({ ok: true as const, addresses: ['127.0.0.1'] });
    [viaParent, intercepting, transparent] = await Promise.all([
      startProxy({ connector: createConnector({ upstream: { source: 'config', https: upstream, http: upstream, noProxy: [], ignored: [] } }) }),
      startProxy({ resolve, upstreamCa: [originCa.caPem], interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) }) }),
      startTransparent(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([viaParent.close(), intercepting.close(), transparent.close()]);
    await Promise.all([origin.close(), tlsOrigin.close(), parent.close(), originCa.remove()]);
    await rm(caDir, { recursive: true, force: true });
  });

  it.each([
    ['the fast lane', ''],
    ["node:http's path", 'Content-Length: 0\r\n'],
  ])('relays them through upstream_proxy from %s', async (_name, extra) => {
    const before = parent.heads.length;
    const client = await RawClient.open(viaParent.port);
    client.write(`GET http://127.0.0.1:${String(origin.port)}/hints HTTP/1.1\r\nHost: x\r\n${extra}\r\n`);
    await expectRelayed(client);
    client.destroy();
    // It did go through the parent.
    expect(parent.heads.length).toBe(before + 1);
  });

  it('relays them on the transparent listener', async () => {
    const client = await RawClient.open(transparent.port);
    client.write(`GET /hints HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\n\r\n`);
    await expectRelayed(client);
    client.destroy();
  });

  it('relays them inside an intercepted TLS session (curl -v)', async () => {
    const target = `api.stripe.com:${String(tlsOrigin.port)}`;
    const { stdout, stderr } = await run('curl', ['-sS', '-v', '--http1.1', '--cacert', ca.certFile, '-x', intercepting.url, `https://${target}/hints`]);
    expect(stdout).toBe('ok');
    expect(stderr).toContain('< HTTP/1.1 102 Processing');
    expect(stderr).toContain('< HTTP/1.1 103 Early Hints');
    expect(stderr).toContain('< Link: </style.css>; rel=preload');
    expect(stderr).not.toContain('X-Kaizen-Decision');
  });
});
