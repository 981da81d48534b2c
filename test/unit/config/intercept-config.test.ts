import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import type { ConfigResult } from '../../../src/config/types.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';

describe('intercept, tools and publishers in the configuration', () => {
  let dir: string;
  let files = 0;
  /** A real certificate for upstream_ca. */
  let testCa: TestCa;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-intercept-config-'));
    testCa = await createTestCa();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await testCa.remove();
  });

  async function load(yaml: string): Promise<ConfigResult> {
    const file = join(dir, `config-${++files}.yaml`);
    await writeFile(file, yaml);
    return loadConfig({ env: {}, flags: { config: file } });
  }

  it('defaults: interception off, no routes, publishers on', async () => {
    const result = await load('agent: a\n');
    expect(result).toMatchObject({ ok: true, config: { intercept: { caDir: join(process.cwd(), 'certs'), hosts: [], upstreamCaFile: null, upstreamCa: [] }, tools: [], publishers: true } });
  });

  it('normalises hosts like policy domains and reads upstream_ca at load', async () => {
    const ca = join(dir, 'upstream.pem');
    await writeFile(ca, testCa.caPem);
    const result = await load(`intercept: {hosts: ["*.Stripe.COM.", "api.openai.com", "10.0.0.5"], upstream_ca: "${ca}"}\ntools: [{match: "POST api.stripe.com/v1/refunds", tool: issue_refund, publisher: stripe}]\npublishers: false\n`);
    expect(result).toMatchObject({
      ok: true,
      config: {
        intercept: { hosts: ['stripe.com', 'api.openai.com', '10.0.0.5'], upstreamCaFile: ca, upstreamCa: [expect.stringContaining('BEGIN CERTIFICATE') as unknown] },
        tools: [{ match: 'POST api.stripe.com/v1/refunds', tool: 'issue_refund', publisher: 'stripe' }],
        publishers: false,
      },
    });
  });

  it('names the key and line of a bad host, route or upstream_ca', async () => {
    const host = await load('intercept:\n  hosts: ["*"]\n');
    expect(host).toMatchObject({ ok: false, issues: [{ key: 'intercept.hosts.0', message: expect.stringContaining('every host') as unknown }] });
    const route = await load('tools:\n  - {match: "POST api.stripe.com/v1/refunds?x=1", tool: issue_refund}\n');
    expect(route).toMatchObject({ ok: false, issues: [{ key: 'tools.0.match', where: expect.stringMatching(/:2$/) as unknown }] });
    const unknown = await load('tools:\n  - {match: "GET a.example/", tool: t, toll: x}\n');
    expect(unknown).toMatchObject({ ok: false });
    const missing = await load(`intercept: {upstream_ca: "${join(dir, 'absent.pem')}"}\n`);
    expect(missing).toMatchObject({ ok: false, code: 'KZP_ERR_CONFIG_READ', issues: [{ key: 'intercept.upstream_ca', message: expect.stringContaining('ENOENT') as unknown }] });
  });

  it('refuses an upstream_ca with a PEM block that is not a certificate, naming the file, its line and which block', async () => {
    const broken = '-----BEGIN CERTIFICATE-----\nAAAAbroken\n-----END CERTIFICATE-----\n';
    const alone = join(dir, 'broken.pem');
    await writeFile(alone, broken);
    expect(await load(`intercept: {upstream_ca: "${alone}"}\n`)).toEqual({
      ok: false,
      code: 'KZP_ERR_CONFIG_INVALID',
      issues: [{ where: `${alone}:1`, key: 'intercept.upstream_ca', message: 'certificate 1 of 1 does not parse as an X.509 certificate' }],
    });
    // A good certificate first does not carry a corrupt one after it (createSecureContext would drop it without a word).
    const mixed = join(dir, 'mixed.pem');
    await writeFile(mixed, `# bundle\n${testCa.caPem}${broken}`);
    const line = 2 + testCa.caPem.split('\n').length - 1;
    expect(await load(`intercept: {upstream_ca: "${mixed}"}\n`)).toEqual({
      ok: false,
      code: 'KZP_ERR_CONFIG_INVALID',
      issues: [{ where: `${mixed}:${line}`, key: 'intercept.upstream_ca', message: 'certificate 2 of 2 does not parse as an X.509 certificate' }],
    });
    // Two good ones load, both kept.
    const good = join(dir, 'good.pem');
    await writeFile(good, `${testCa.caPem}\n${testCa.certPem}`);
    expect(await load(`intercept: {upstream_ca: "${good}"}\n`)).toMatchObject({ ok: true, config: { intercept: { upstreamCa: [testCa.caPem, testCa.certPem] } } });
  });
});
