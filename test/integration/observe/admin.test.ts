import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import type { FlagOverrides } from '../../../src/config/types.js';
import { createLogger } from '../../../src/observe/logger.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

interface Answer {
  readonly status: number;
  readonly type: string | undefined;
  readonly body: string;
}

function get(port: number, path: string, via?: { proxyPort: number; host?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      via === undefined
        ? { host: '127.0.0.1', port, path }
        : { host: '127.0.0.1', port: via.proxyPort, path: `http://${via.host ?? '127.0.0.1'}:${port}${path}`, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function config(flags: FlagOverrides) {
  const loaded = loadConfig({ env: {}, defaultFile: '/nonexistent/kaizen-proxy.yaml', flags: { listen: '127.0.0.1:0', admin: '127.0.0.1:0', ...flags } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  return loaded.config;
}

let proxy: KaizenProxy | undefined;
let origin: Server | undefined;

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  origin?.closeAllConnections();
  await new Promise<void>((resolve) => {
    if (origin === undefined) resolve();
    else origin.close(() => {
      resolve();
    });
  });
  origin = undefined;
});

describe('admin listener', () => {
  it('answers /healthz, /readyz and /metrics on its own port, and announces it in the listening line', async () => {
    const logs = new CapturedLogs();
    proxy = await createProxy(config({}), { logger: createLogger({ level: 'info', destination: logs }) });
    const admin = proxy.admin;
    if (admin === null) throw new Error('admin listener expected');
    expect(admin.port).not.toBe(proxy.address.port);
    const listening = await logs.waitFor((line) => line.msg === 'listening');
    expect(listening['admin']).toBe(`127.0.0.1:${admin.port}`);

    expect(await get(admin.port, '/healthz')).toMatchObject({ status: 200, body: '{"status":"ok"}\n' });
    const ready = await get(admin.port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      ready: true,
      listening: true,
      config_loaded: true,
      draining: false,
      control_plane: { status: 'none' },
      policy_sync: { status: 'none', counts: { none: 1, ok: 0, pending: 0, failing: 0 } },
    });
    const metrics = await get(admin.port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'kaizen_proxy_actions_total',
      'kaizen_proxy_control_plane_duration_seconds',
      'kaizen_proxy_control_plane_errors_total',
      'kaizen_proxy_verdict_cache_hits_total',
      'kaizen_proxy_verdict_cache_misses_total',
      'kaizen_proxy_active_tunnels',
      'kaizen_proxy_bytes_total',
      'kaizen_proxy_guard_refusals_total',
      'kaizen_proxy_limit_refusals_total',
      'kaizen_proxy_fail_open_total',
    ]) {
      expect(metrics.body).toContain(`# TYPE ${name} `);
    }
    expect(metrics.body).toContain('kaizen_proxy_verdict_cache_entries 0');
    expect(metrics.body).toContain('kaizen_proxy_policy_sync_status{agent="egress-agent",status="none"} 1');
    expect(metrics.body).toContain('process_resident_memory_bytes');

    expect((await get(admin.port, '/other')).status).toBe(404);
    // The admin port never proxies: an absolute-form request is just an unknown path.
    expect((await get(proxy.address.port, '/healthz')).status).toBe(400);
  });

  it('runs without an admin listener when admin is off', async () => {
    proxy = await createProxy(config({ admin: 'off' }), { logger: createLogger({ level: 'silent' }) });
    expect(proxy.admin).toBeNull();
  });

  it('fails readiness as soon as the drain begins, while a request is still in flight, and no longer reports listening', async () => {
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    origin = createServer((_req, res) => {
      release = () => res.end('late');
      arrived();
    });
    await new Promise<void>((resolve) => origin?.listen(0, '127.0.0.1', resolve));
    const originPort = (origin.address() as AddressInfo).port;
    proxy = await createProxy(config({ allowPrivate: ['127.0.0.0/8'] }), { logger: createLogger({ level: 'silent' }) });
    const admin = proxy.admin;
    if (admin === null) throw new Error('admin listener expected');

    const slow = get(originPort, '/slow', { proxyPort: proxy.address.port });
    await inFlight;
    const closing = proxy.close();
    const draining = await get(admin.port, '/readyz');
    expect(draining.status).toBe(503);
    // The listeners stopped accepting when the drain began: /readyz says so, and the proxy port refuses.
    expect(JSON.parse(draining.body)).toMatchObject({ ready: false, draining: true, listening: false });
    await expect(get(originPort, '/after', { proxyPort: proxy.address.port })).rejects.toThrow(/ECONNREFUSED/);
    expect((await get(admin.port, '/healthz')).status).toBe(200);
    release();
    expect(await slow).toMatchObject({ status: 200, body: 'late' });
    await closing;
    await expect(get(admin.port, '/healthz')).rejects.toThrow();
  });

  it('counts the transport\'s events: actions by kind, decision and source, guard refusals, bytes, open tunnels', async () => {
    origin = createServer((_req, res) => {
      res.end('0123456789');
    });
    await new Promise<void>((resolve) => origin?.listen(0, '127.0.0.1', resolve));
    const originPort = (origin.address() as AddressInfo).port;
    proxy = await createProxy(config({ allowPrivate: ['127.0.0.0/8'] }), { logger: createLogger({ level: 'silent' }) });
    const admin = proxy.admin;
    if (admin === null) throw new Error('admin listener expected');
    const via = { proxyPort: proxy.address.port };

    expect((await get(80, '/latest/', { proxyPort: via.proxyPort, host: '169.254.169.254' })).status).toBe(403);
    expect(await get(originPort, '/', via)).toMatchObject({ status: 200, body: '0123456789' });
    const tunnel = connect(proxy.address.port, '127.0.0.1');
    tunnel.write(`CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\n\r\n`);
    await new Promise((resolve) => tunnel.once('data', resolve));

    const open = (await get(admin.port, '/metrics')).body;
    expect(open).toContain('kaizen_proxy_actions_total{kind="http",decision="block",source="guard"} 1');
    expect(open).toContain('kaizen_proxy_actions_total{kind="http",decision="allow",source="local"} 1');
    expect(open).toContain('kaizen_proxy_actions_total{kind="connect",decision="allow",source="local"} 1');
    expect(open).toContain('kaizen_proxy_guard_refusals_total 1');
    expect(open).toContain('kaizen_proxy_active_tunnels 1');
    expect(open).toMatch(/kaizen_proxy_bytes_total\{direction="down"\} \d+/);
    // The plain GET's destination connection went back to the pool once its answer was complete.
    expect(open).toContain('kaizen_proxy_origin_connections{state="idle"} 1');
    expect(open).toContain('kaizen_proxy_origin_connections{state="active"} 0');
    expect(open).toContain('kaizen_proxy_origin_requests_queued 0');
    expect(open).toContain('kaizen_proxy_origin_retries_total 0');
    tunnel.destroy();
    // The proxy sees the close a few event-loop turns later: ask until it says so (bounded).
    let closed = '';
    for (let attempt = 0; attempt < 500 && !closed.includes('kaizen_proxy_active_tunnels 0'); attempt++) closed = (await get(admin.port, '/metrics')).body;
    expect(closed).toContain('kaizen_proxy_active_tunnels 0');
  });

  it('counts name lookups: two requests to one name make one lookup and one cache hit', async () => {
    origin = createServer((_req, res) => {
      res.end('named');
    });
    await new Promise<void>((resolve) => origin?.listen(0, '127.0.0.1', resolve));
    const originPort = (origin.address() as AddressInfo).port;
    proxy = await createProxy(config({ allowPrivate: ['127.0.0.0/8', '::1/128'] }), { logger: createLogger({ level: 'silent' }) });
    const admin = proxy.admin;
    if (admin === null) throw new Error('admin listener expected');
    const via = { proxyPort: proxy.address.port, host: 'localhost' };

    expect(await get(originPort, '/a', via)).toMatchObject({ status: 200, body: 'named' });
    expect(await get(originPort, '/b', via)).toMatchObject({ status: 200, body: 'named' });
    const metrics = (await get(admin.port, '/metrics')).body;
    expect(metrics).toContain('kaizen_proxy_dns_lookups_total 1');
    expect(metrics).toContain('kaizen_proxy_dns_cache_hits_total 1');
    expect(metrics).toContain('kaizen_proxy_dns_cache_entries 1');
  });

  it('warns at start when listening beyond loopback without gateway credentials (unsafe_open_proxy)', async () => {
    const logs = new CapturedLogs();
    proxy = await createProxy(config({ listen: '0.0.0.0:0', unsafeOpenProxy: true, admin: 'off' }), { logger: createLogger({ level: 'info', destination: logs }) });
    const warning = await logs.waitFor((line) => line['level'] === 'warn');
    expect(String(warning.msg)).toMatch(/^unsafe_open_proxy: listening beyond loopback/);
  });
});
