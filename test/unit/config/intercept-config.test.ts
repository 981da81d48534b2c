import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import type { ConfigResult } from '../../../src/config/types.js';

describe('intercept, tools and publishers in the configuration', () => {
  let dir: string;
  let files = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-intercept-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
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
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
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
});
