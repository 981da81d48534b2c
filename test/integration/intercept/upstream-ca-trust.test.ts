import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { spawnProxy, type ProxyProcess } from '../resilience/proxy-process.js';
import { exchange, tlsThrough } from './tunnel-client.js';

/**
 * intercept.upstream_ca adds to the CAs the proxy trusts for TLS it originates: Node's default
 * store (its bundled roots and NODE_EXTRA_CA_CERTS) stays trusted. The built CLI, started with
 * NODE_EXTRA_CA_CERTS naming one CA and upstream_ca naming an unrelated one.
 */
describe('upstream_ca keeps NODE_EXTRA_CA_CERTS', () => {
  let dir: string;
  let ca: CertificateAuthority;
  /** Named by NODE_EXTRA_CA_CERTS only. */
  let extraCa: TestCa;
  /** Named by intercept.upstream_ca only. */
  let configuredCa: TestCa;
  let extraOrigin: Origin;
  let configuredOrigin: Origin;
  let proxy: ProxyProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-upstream-ca-'));
    ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    [extraCa, configuredCa] = await Promise.all([createTestCa(), createTestCa()]);
    [extraOrigin, configuredOrigin] = await Promise.all([startOrigin({ tls: extraCa }), startOrigin({ tls: configuredCa })]);
    proxy = await spawnProxy({
      yaml: ['listen: 127.0.0.1:0', 'admin: off', 'network: {allow_private: [127.0.0.0/8]}', `intercept: {ca_dir: ${join(dir, 'certs')}, hosts: [localhost], upstream_ca: ${configuredCa.caFile}}`].join('\n'),
      env: { NODE_EXTRA_CA_CERTS: extraCa.caFile },
    });
  });

  afterAll(async () => {
    await proxy.stop();
    await extraOrigin.close();
    await configuredOrigin.close();
    await extraCa.remove();
    await configuredCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  /** The status and X-Kaizen-Error of an absolute-form GET through the proxy. */
  async function absoluteGet(origin: Origin): Promise<{ status: number; error: string | undefined }> {
    const client = await RawClient.open(proxy.port);
    try {
      client.write(`GET https://127.0.0.1:${origin.port}/absolute HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`);
      const response = await client.readResponse();
      return { status: response.status, error: response.headers['x-kaizen-error'] };
    } finally {
      client.socket.destroy();
    }
  }

  it('an absolute-form https:// request reaches an origin signed by the NODE_EXTRA_CA_CERTS CA, and one signed by upstream_ca', async () => {
    expect(await absoluteGet(extraOrigin)).toEqual({ status: 200, error: undefined });
    expect(await absoluteGet(configuredOrigin)).toEqual({ status: 200, error: undefined });
    expect(extraOrigin.requests.map((seen) => seen.url)).toEqual(['/absolute']);
  });

  it('an intercepted request reaches an origin signed by the NODE_EXTRA_CA_CERTS CA', async () => {
    const tls = await tlsThrough(proxy.port, `localhost:${extraOrigin.port}`, { ca: ca.certPem, servername: 'localhost' });
    const answer = await exchange(tls, `GET /intercepted HTTP/1.1\r\nHost: localhost:${extraOrigin.port}\r\n\r\n`);
    tls.destroy();
    expect([answer.status, /X-Kaizen-Error: (\S+)/.exec(answer.head)?.[1]]).toEqual([200, undefined]);
    expect(extraOrigin.requests.map((seen) => seen.url)).toContain('/intercepted');
  });

  it('a NODE_EXTRA_CA_CERTS that cannot be read is ignored with a warning; upstream_ca still applies', async () => {
    const missing = join(dir, 'missing.pem');
    const other = await spawnProxy({
      yaml: ['listen: 127.0.0.1:0', 'admin: off', 'network: {allow_private: [127.0.0.0/8]}', `intercept: {upstream_ca: ${configuredCa.caFile}}`].join('\n'),
      env: { NODE_EXTRA_CA_CERTS: missing },
    });
    try {
      const warning = await other.waitFor((line) => line['file'] === missing);
      expect(warning).toMatchObject({ level: 'warn', reason: 'ENOENT' });
      const client = await RawClient.open(other.port);
      client.write(`GET https://127.0.0.1:${configuredOrigin.port}/ HTTP/1.1\r\nHost: 127.0.0.1:${configuredOrigin.port}\r\nConnection: close\r\n\r\n`);
      expect((await client.readResponse()).status).toBe(200);
      client.socket.destroy();
    } finally {
      await other.stop();
    }
  });
});
