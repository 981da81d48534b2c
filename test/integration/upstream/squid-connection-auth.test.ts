import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { startConnectionAuthOrigin, type ConnectionAuthOrigin } from '../../helpers/connection-auth-origin.js';
import { RawClient, type RawResponse } from '../../helpers/raw-client.js';
import { startSquid, type Squid } from '../../helpers/squid.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

/**
 * Through an upstream proxy that pins its destination connections to its client connections, as
 * Squid's connection-auth does, the proxy's own connection to that upstream carries the pin: it
 * must not be shared between agents after one agent's NTLM handshake went over it.
 */
const TOKENS: Readonly<Record<string, string>> = { 'billing-bot': 'billing-token', 'ops-bot': 'ops-token' };
const ORIGIN = '127.0.0.4';
let squid: Squid | null = null;
let origin: ConnectionAuthOrigin | null = null;
let proxy: KaizenProxy | null = null;
let dir = '';

afterEach(async () => {
  await proxy?.close();
  await origin?.close();
  await squid?.stop();
  proxy = origin = squid = null;
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function get(client: RawClient, agent: string, url: string, extra = ''): Promise<RawResponse> {
  const auth = Buffer.from(`${agent}:${TOKENS[agent] ?? ''}`).toString('base64');
  client.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nProxy-Authorization: Basic ${auth}\r\n${extra}\r\n`);
  return client.readResponse();
}

describe('connection-bound authentication through an upstream proxy', () => {
  it("another agent's request never rides the upstream connection an agent's NTLM handshake went over", async () => {
    squid = await startSquid();
    origin = await startConnectionAuthOrigin(ORIGIN);
    dir = await mkdtemp(join(tmpdir(), 'kzp-upstream-auth-'));
    const credentials = join(dir, 'credentials');
    await writeFile(credentials, Object.entries(TOKENS).map(([agent, token]) => `${agent}:${createHash('sha256').update(token).digest('hex')}\n`).join(''));
    const file = join(dir, 'kaizen-proxy.yaml');
    await writeFile(file, ['listen: 127.0.0.1:0', 'admin: off', 'network: { allow_private: [127.0.0.0/8] }', `gateway: { credentials_file: "${credentials}" }`, `upstream_proxy: "${squid.url}"`, `data_dir: "${join(dir, 'data')}"`].join('\n'));
    const loaded = loadConfig({ env: {}, flags: { config: file } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: new CapturedLogs() }), recordObserved: false });
    const url = `http://${ORIGIN}:${origin.port}/`;

    const billing = await RawClient.open(proxy.address.port);
    expect((await get(billing, 'billing-bot', url, 'Authorization: NTLM T1negotiate\r\n')).status).toBe(401);
    const done = await get(billing, 'billing-bot', url, 'Authorization: NTLM T3billing\r\n');
    expect(done.body).toMatch(/ user=billing$/);

    const ops = await RawClient.open(proxy.address.port);
    const other = await get(ops, 'ops-bot', url);
    expect(other.body).toBe('who are you');
    expect(other.status).toBe(401);
    // The client connection that authenticated keeps its identity on its later requests.
    expect((await get(billing, 'billing-bot', url)).body).toBe(done.body);
    billing.destroy();
    ops.destroy();
  });
});
