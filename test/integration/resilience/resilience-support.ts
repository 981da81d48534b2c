/** Shared by the resilience tests: a real proxy (createProxy) on a temp data_dir, requests through it, metrics, deliveries. */
import { request } from 'node:http';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import type { ProxyConfig } from '../../../src/config/types.js';
import type { FakeControlPlane, FakeReply, RecordedRequest } from '../../helpers/fake-control-plane.js';
import { captureLogs, type LogCapture } from '../verdict/support.js';
import { tempDir, writeFile } from '../reflex/cli-process.js';

export const API_KEY = 'kz_live_resilience_SECRET_77';

export interface ResilienceConfig {
  readonly url: string;
  readonly dataDir?: string;
  readonly fail?: ProxyConfig['fail'];
  readonly timeoutMs?: number;
  readonly cache?: Partial<ProxyConfig['cache']>;
  readonly spool?: Partial<ProxyConfig['spool']>;
  readonly network?: Partial<ProxyConfig['network']>;
  /** false: no API key (local policy and the address guard only). */
  readonly account?: boolean;
}

export const tempDataDir = (): string => mkdtempSync(join(tmpdir(), 'kzp-data-'));

/** The embedded defaults with an account at `url`, loopback origins opened, admin on a free port. */
export function resilienceConfig(changes: ResilienceConfig): ProxyConfig {
  const loaded = loadConfig({ env: {}, defaultFile: '/nonexistent/kaizen-proxy.yaml' });
  if (!loaded.ok) throw new Error('default configuration failed to load');
  const base = loaded.config;
  return {
    ...base,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    fail: changes.fail ?? 'closed',
    controlPlane: { ...base.controlPlane, url: changes.url, apiKey: changes.account === false ? null : API_KEY, timeoutMs: changes.timeoutMs ?? 500 },
    // Every request asks the control plane unless a test wants the cache.
    cache: { ...base.cache, allowTtlMs: 1, blockTtlMs: 1, staleIfErrorMs: 0, ...changes.cache },
    network: { ...base.network, allowPrivate: ['127.0.0.0/8'], ...changes.network },
    dataDir: changes.dataDir ?? tempDataDir(),
    spool: { ...base.spool, fsyncIntervalMs: 20, replayRatePerSecond: 500, ...changes.spool },
    policySync: { intervalMs: 3_600_000 },
  };
}

export interface RunningProxy {
  readonly proxy: KaizenProxy;
  readonly logs: LogCapture;
  readonly port: number;
}

export async function startResilientProxy(config: ProxyConfig): Promise<RunningProxy> {
  const logs = captureLogs('info');
  const proxy = await createProxy(config, { logger: logs.logger });
  return { proxy, logs, port: proxy.address.port };
}

export interface ProxiedResponse {
  /** 0 when the connection failed or was reset without an answer. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  readonly ms: number;
}

/** One absolute-form request through the proxy; never rejects. */
export function viaProxy(proxyPort: number, url: string, method = 'GET', timeoutMs = 30_000): Promise<ProxiedResponse> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number, headers: ProxiedResponse['headers'], body: string): void => {
      resolve({ status, headers, body, ms: performance.now() - started });
    };
    const req = request({ host: '127.0.0.1', port: proxyPort, method, path: url, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        done(res.statusCode ?? 0, res.headers, body);
      });
      res.on('error', () => {
        done(0, {}, body);
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      done(0, {}, '');
    });
    req.end();
  });
}

/** Counters and gauges from the admin /metrics endpoint: "name{labels}" → value. */
export async function scrape(proxy: KaizenProxy): Promise<Map<string, number>> {
  if (proxy.admin === null) throw new Error('no admin listener');
  return scrapePort(proxy.admin.port);
}

/** Counters and gauges from the /metrics endpoint of the admin listener on `port` (a proxy process's). */
export async function scrapePort(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** One metric sample of the running proxy (`name` with its labels, as scraped), 0 when absent. */
export async function counter(running: RunningProxy, name: string): Promise<number> {
  return (await scrape(running.proxy)).get(name) ?? 0;
}

/** Every spool drop the running proxy counted, whatever its reason. */
export async function spoolDropped(running: RunningProxy): Promise<number> {
  let total = 0;
  for (const [name, value] of await scrape(running.proxy)) if (name.startsWith('kaizen_proxy_spool_dropped_total')) total += value;
  return total;
}

export const eventIdOf = (body: unknown): string | undefined => {
  if (typeof body !== 'object' || body === null) return undefined;
  const action = (body as { action?: { metadata?: { event_id?: unknown } } }).action;
  const id = action?.metadata?.event_id;
  return typeof id === 'string' ? id : undefined;
};

/**
 * A reply the proxy takes as delivered, live or replayed: a complete answer with a 2xx status,
 * whatever its body (one no verdict can be read from leaves a live call without a verdict, but the
 * control plane has the report, so it is not spooled or sent again).
 */
export function delivered(reply: FakeReply): boolean {
  return (reply.kind === 'json' || reply.kind === 'text') && reply.status >= 200 && reply.status < 300;
}

/** The requests the proxy took as delivered (`delivered`). */
export function deliveredSends(cp: FakeControlPlane): RecordedRequest[] {
  return cp.requests.filter((seen) => eventIdOf(seen.body) !== undefined && delivered(seen.reply));
}

/** Per event_id seen at the fake: how many times it was sent, and how many of those were delivered (deliveredSends). */
export function deliveries(cp: FakeControlPlane): Map<string, { sent: number; delivered: number }> {
  const out = new Map<string, { sent: number; delivered: number }>();
  for (const seen of cp.requests) {
    const id = eventIdOf(seen.body);
    if (id === undefined) continue;
    const entry = out.get(id) ?? { sent: 0, delivered: 0 };
    entry.sent += 1;
    out.set(id, entry);
  }
  for (const seen of deliveredSends(cp)) {
    const entry = out.get(eventIdOf(seen.body) ?? '');
    if (entry !== undefined) entry.delivered += 1;
  }
  return out;
}

export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`${what} not met within ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A configuration file for a `serve` process whose every action is spooled while the control plane
 * at `cpUrl` fails: no admin, no observed record, loopback origins opened, nothing cached, the spool
 * in `dataDir` synced every 20 ms. `lines` adds keys (such as `listen:`).
 */
export function spoolingConfigFile(cpUrl: string, dataDir: string, lines: readonly string[] = []): string {
  return writeFile(
    tempDir(),
    'kaizen-proxy.yaml',
    [
      ...lines,
      'admin: off',
      `data_dir: ${dataDir}`,
      `control_plane: { url: "${cpUrl}", timeout: 300ms }`,
      'cache: { allow_ttl: 1ms, block_ttl: 1ms, stale_if_error: 0ms }',
      'network: { allow_private: [127.0.0.0/8] }',
      'observed: { enabled: false }',
      'spool: { fsync_interval: 20ms }',
    ].join('\n'),
  );
}

/** The spool segment files anywhere under `root` (its slots' included), as paths relative to it. */
export function segmentsUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((entry) => /seg-\d+\.kzs$/.test(entry));
}
