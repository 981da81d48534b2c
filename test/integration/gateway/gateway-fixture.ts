import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import type { ReloadOutcome } from '../../../src/app/config-reload.js';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import type { ConfigResult } from '../../../src/config/types.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createLogger } from '../../../src/observe/logger.js';
import { startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { API_KEY } from '../verdict/support.js';

/** The agents a test may list in the credentials file, with their tokens. */
export const TOKENS: Readonly<Record<string, string>> = { 'ops-bot': 'ops-token', 'billing-bot': 'billing-token', 'new-bot': 'new-token' };
/** Two origins on addresses of their own, so an `ips` rule can tell them apart. */
export const ORIGIN_A = '127.0.0.2';
export const ORIGIN_B = '127.0.0.3';
export const blocking = (name: string, ...ips: string[]): unknown[] => [{ name, mode: 'blocklist', rules: { ips: ips.map((ip) => `${ip}/32`) } }];
export const policyPath = (agent: string): string => `/v1/policy?agent=${agent}`;

/** A gateway proxy with an account (configured agent ops-bot) in front of the two origins, on a fresh fake control plane per test. */
export interface GatewayFixture {
  readonly cp: FakeControlPlane;
  readonly logs: CapturedLogs;
  /** Writes the configuration file: the fixture's settings, then `extra` YAML lines (read again by reload()). */
  configure(extra?: readonly string[]): Promise<void>;
  /** Starts the proxy on the file configure() wrote (the fixture's own when it was not called); closed after the test. */
  start(): Promise<KaizenProxy>;
  /** Writes the credentials file: one line per agent, with its token's digest (`tokens` first, then TOKENS). */
  writeCredentials(agents: readonly string[], tokens?: Readonly<Record<string, string>>): Promise<void>;
  /** Makes an interception CA in the test's directory: the `intercept:` line for configure(), terminating `hosts`. */
  interception(hosts: readonly string[]): Promise<string>;
  /** The certificate (PEM) of the CA interception() made: what a client that trusts it is given. */
  caPem(): Promise<string>;
  /** Reloads the configuration file (and the credentials file), as SIGHUP does. */
  reload(): ReloadOutcome;
  /** A plain request through the proxy as `agent`: the status and the block's reason header. */
  getAs(agent: string, host: string): Promise<{ status: number; reason: string | undefined }>;
  /** The port of the origin on `host` (ORIGIN_A or ORIGIN_B). */
  originPort(host: string): number;
  /** `METHOD path` of each request the origin on `host` received, in order. */
  originRequests(host: string): readonly string[];
  /** The body of an admin endpoint. */
  admin(path: string): Promise<string>;
  /** POST /v1/verdicts received so far: a request that missed the verdict cache. */
  verdictPosts(): number;
}

/** Registers the hooks of a gateway test file; call at its top level. */
export function useGatewayFixture(): GatewayFixture {
  let dir = '';
  let cp: FakeControlPlane | null = null;
  let logs = new CapturedLogs();
  let origins: Server[] = [];
  const ports = new Map<string, number>();
  const received = new Map<string, string[]>();
  let proxy: KaizenProxy | undefined;
  let configured = false;

  const control = (): FakeControlPlane => {
    if (cp === null) throw new Error('the control plane is made in beforeEach');
    return cp;
  };
  const credentials = (): string => join(dir, 'credentials');
  const configFile = (): string => join(dir, 'kaizen-proxy.yaml');
  const load = (): ConfigResult => loadConfig({ env: { KAIZEN_API_KEY: API_KEY }, flags: { config: configFile() } });
  const running = (): KaizenProxy => {
    if (proxy === undefined) throw new Error('the proxy is not started');
    return proxy;
  };

  const fixture: GatewayFixture = {
    get cp() {
      return control();
    },
    get logs() {
      return logs;
    },
    async configure(extra = []) {
      configured = true;
      await writeFile(
        configFile(),
        [
          'listen: 127.0.0.1:0',
          'admin: 127.0.0.1:0',
          'agent: ops-bot',
          `control_plane: { url: "${control().url}", timeout: 2s }`,
          'network: { allow_private: [127.0.0.0/8] }',
          `gateway: { credentials_file: "${credentials()}" }`,
          `data_dir: "${join(dir, 'data')}"`,
          ...extra,
        ].join('\n'),
      );
    },
    async start() {
      if (!configured) await fixture.configure();
      const loaded = load();
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
      proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: logs }), recordObserved: false });
      return proxy;
    },
    async writeCredentials(agents, tokens = {}) {
      const lines = agents.map((agent) => `${agent}:${createHash('sha256').update(tokens[agent] ?? TOKENS[agent] ?? '').digest('hex')}`);
      await writeFile(credentials(), `${lines.join('\n')}\n`);
    },
    async interception(hosts) {
      const caDir = join(dir, 'certs');
      await initCa(caDir, { name: 'kaizen-proxy test interception CA', days: 2, force: false });
      return `intercept: { ca_dir: "${caDir}", hosts: [${hosts.join(', ')}] }`;
    },
    caPem: () => readFile(join(dir, 'certs', 'ca.pem'), 'utf8'),
    reload: () => running().reload(load(), 'SIGHUP'),
    getAs(agent, host) {
      const port = running().address.port;
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
    },
    originPort: (host) => ports.get(host) ?? 0,
    originRequests: (host) => received.get(host) ?? [],
    async admin(path) {
      const response = await fetch(`http://127.0.0.1:${running().admin?.port ?? 0}${path}`);
      return response.text();
    },
    verdictPosts: () => control().requests.filter((seen) => seen.path === '/v1/verdicts').length,
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-gateway-'));
    cp = await startFakeControlPlane();
    logs = new CapturedLogs();
    configured = false;
    origins = [];
    received.clear();
    for (const host of [ORIGIN_A, ORIGIN_B]) {
      const seen: string[] = [];
      received.set(host, seen);
      const origin = createServer((req, res) => {
        seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
        res.end('origin\n');
      });
      await new Promise<void>((resolve) => origin.listen(0, host, resolve));
      const address = origin.address();
      if (address === null || typeof address === 'string') throw new Error('origin has no port');
      ports.set(host, address.port);
      origins.push(origin);
    }
    await fixture.writeCredentials(['ops-bot', 'billing-bot']);
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
    await cp?.close();
    await rm(dir, { recursive: true, force: true });
    expect(logs.text).not.toContain(API_KEY);
  });

  return fixture;
}
