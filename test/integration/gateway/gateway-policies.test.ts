import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import type { ConfigResult } from '../../../src/config/types.js';
import { createLogger } from '../../../src/observe/logger.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { API_KEY } from '../verdict/support.js';

/**
 * Gateway mode with an account: every agent the proxy serves (the configured one and each identity
 * of the credentials file) has its own synced policies, fetched with ?agent=<its name>, and a
 * request is judged by the file's policies and its own agent's synced ones, never another's.
 */
const TOKENS: Readonly<Record<string, string>> = { 'ops-bot': 'ops-token', 'billing-bot': 'billing-token', 'new-bot': 'new-token' };
const ORIGIN_A = '127.0.0.2';
const ORIGIN_B = '127.0.0.3';
const blocking = (name: string, ...ips: string[]): unknown[] => [{ name, mode: 'blocklist', rules: { ips: ips.map((ip) => `${ip}/32`) } }];
const policyPath = (agent: string): string => `/v1/policy?agent=${agent}`;

let dir: string;
let credentials: string;
let configFile: string;
let cp: FakeControlPlane;
let origins: Server[];
const ports = new Map<string, number>();
let proxy: KaizenProxy | undefined;
let logs: CapturedLogs;

async function writeCredentials(agents: readonly string[]): Promise<void> {
  const lines = agents.map((agent) => `${agent}:${createHash('sha256').update(TOKENS[agent] ?? '').digest('hex')}`);
  await writeFile(credentials, `${lines.join('\n')}\n`);
}

function load(): ConfigResult {
  return loadConfig({ env: { KAIZEN_API_KEY: API_KEY }, flags: { config: configFile } });
}

async function start(): Promise<KaizenProxy> {
  const loaded = load();
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: logs }), recordObserved: false });
  return proxy;
}

/** A plain request through the proxy as `agent`: the status and the block's reason header. */
function getAs(agent: string, host: string): Promise<{ status: number; reason: string | undefined }> {
  const port = proxy?.address.port ?? 0;
  const auth = Buffer.from(`${agent}:${TOKENS[agent] ?? ''}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `http://${host}:${ports.get(host) ?? 0}/`, agent: false, headers: { 'proxy-authorization': `Basic ${auth}` } }, (res) => {
      res.resume();
      res.on('end', () => {
        const reason = res.headers['x-kaizen-reason'];
        resolve({ status: res.statusCode ?? 0, reason: typeof reason === 'string' ? reason : undefined });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function admin(path: string): Promise<string> {
  const port = proxy?.admin?.port ?? 0;
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return response.text();
}

const policyRequests = (): string[] => cp.requests.filter((seen) => seen.path.startsWith('/v1/policy')).map((seen) => seen.path);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kzp-gateway-policies-'));
  credentials = join(dir, 'credentials');
  configFile = join(dir, 'kaizen-proxy.yaml');
  cp = await startFakeControlPlane();
  logs = new CapturedLogs();
  origins = [];
  for (const host of [ORIGIN_A, ORIGIN_B]) {
    const origin = createServer((_req, res) => res.end('origin\n'));
    await new Promise<void>((resolve) => origin.listen(0, host, resolve));
    const address = origin.address();
    if (address === null || typeof address === 'string') throw new Error('origin has no port');
    ports.set(host, address.port);
    origins.push(origin);
  }
  await writeCredentials(['ops-bot', 'billing-bot']);
  await writeFile(
    configFile,
    [
      'listen: 127.0.0.1:0',
      'admin: 127.0.0.1:0',
      'agent: ops-bot',
      `control_plane: { url: "${cp.url}", timeout: 2s }`,
      'network: { allow_private: [127.0.0.0/8] }',
      `gateway: { credentials_file: "${credentials}" }`,
      `data_dir: "${join(dir, 'data')}"`,
    ].join('\n'),
  );
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  for (const origin of origins) {
    origin.closeAllConnections();
    await new Promise<void>((resolve) => {
      origin.close(() => {
        resolve();
      });
    });
  }
  await cp.close();
  await rm(dir, { recursive: true, force: true });
  expect(logs.text).not.toContain(API_KEY);
});

describe('synced policies per gateway agent', () => {
  it('enforces each agent\'s own synced policies and not another\'s, fetched once per agent, in parallel, before listening', async () => {
    // Slow answers: started one after the other, the second request would come 600 ms after the first.
    cp.routeWith(policyPath('ops-bot'), reply.slow(600, reply.policies(blocking('ops-only', ORIGIN_B))));
    cp.routeWith(policyPath('billing-bot'), reply.slow(600, reply.policies(blocking('billing-only', ORIGIN_A))));
    await start();

    expect(await getAs('billing-bot', ORIGIN_A)).toEqual({ status: 403, reason: 'blocked by local policy synced "billing-only" (ip)' });
    expect(await getAs('billing-bot', ORIGIN_B)).toMatchObject({ status: 200 });
    expect(await getAs('ops-bot', ORIGIN_B)).toEqual({ status: 403, reason: 'blocked by local policy synced "ops-only" (ip)' });
    expect(await getAs('ops-bot', ORIGIN_A)).toMatchObject({ status: 200 });

    expect(policyRequests().sort()).toEqual([policyPath('billing-bot'), policyPath('ops-bot')]);
    const arrivals = cp.requests.filter((seen) => seen.path.startsWith('/v1/policy')).map((seen) => seen.at);
    expect(Math.abs((arrivals[0] ?? 0) - (arrivals[1] ?? 0))).toBeLessThan(400);

    expect(JSON.parse(await admin('/readyz'))).toMatchObject({ policy_sync: { status: 'ok', agents: { 'ops-bot': 'ok', 'billing-bot': 'ok' } } });
    const metrics = await admin('/metrics');
    expect(metrics).toContain('kaizen_proxy_policy_sync_status{agent="billing-bot",status="ok"} 1');
    expect(metrics).toContain('kaizen_proxy_policy_sync_status{agent="ops-bot",status="ok"} 1');
    const updated = logs.lines.filter((line) => line.msg === 'synced policies updated').map((line) => line['agent']);
    expect(updated.sort()).toEqual(['billing-bot', 'ops-bot']);
  });

  it('a reload that adds an identity starts its sync and admits it synced; one that removes an identity refuses it and stops its sync', async () => {
    cp.routeWith(policyPath('ops-bot'), reply.policies([]));
    cp.routeWith(policyPath('billing-bot'), reply.policies(blocking('billing-only', ORIGIN_A)));
    cp.routeWith(policyPath('new-bot'), reply.slow(300, reply.policies(blocking('new-only', ORIGIN_A, ORIGIN_B))));
    await start();
    expect((await getAs('new-bot', ORIGIN_B)).status).toBe(407);

    await writeCredentials(['ops-bot', 'new-bot']);
    expect(proxy?.reload(load(), 'SIGHUP')).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });
    // The removed identity is refused at once; the new one until its first sync (answered 300 ms late) has ended.
    expect((await getAs('billing-bot', ORIGIN_B)).status).toBe(407);
    expect((await getAs('new-bot', ORIGIN_B)).status).toBe(407);
    await cp.waitForRequest((seen) => seen.path === policyPath('new-bot'));
    await logs.waitFor((line) => line.msg === 'gateway identities updated');

    expect(await getAs('new-bot', ORIGIN_B)).toEqual({ status: 403, reason: 'blocked by local policy synced "new-only" (ip)' });
    expect(await getAs('ops-bot', ORIGIN_A)).toMatchObject({ status: 200 });
    expect((JSON.parse(await admin('/readyz')) as { policy_sync: unknown }).policy_sync).toEqual({ status: 'ok', agents: { 'ops-bot': 'ok', 'new-bot': 'ok' } });
    expect(await admin('/metrics')).not.toContain('agent="billing-bot"');
    expect(logs.lines.find((line) => line.msg === 'policy sync stopped: the agent is no longer served')).toMatchObject({ agent: 'billing-bot' });
  });
});
