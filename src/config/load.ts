import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { readSource, type Source } from './config-source.js';
import { deepFreeze } from './deep-freeze.js';
import { exposureIssues } from './exposure.js';
import { readGatewayCredentials } from './gateway-load.js';
import { readUpstreamCa } from './intercept-load.js';
import { keyFileUnreadable } from './key-file-unreadable.js';
import { envOverrides, flagOverrides, KEEP, type Override } from './overrides.js';
import { fileSchema, type FileConfig } from './schema.js';
import { sharedAddressIssues } from './shared-address.js';
import { resolveUpstreamProxy } from './upstream-load.js';
import { whereIs } from './where-is.js';
import type { GatewayCredential } from '../gateway/credentials-file.js';
import type { ConfigErrorCode, ConfigIssue, ConfigResult, FlagOverrides, ProxyConfig } from './types.js';

export const DEFAULT_CONFIG_FILE = 'config/kaizen-proxy.yaml';

export interface LoadOptions {
  readonly flags?: FlagOverrides;
  readonly env?: NodeJS.ProcessEnv;
  /** Where to look for the default file when none is named (relative to cwd). */
  readonly defaultFile?: string;
  /** A running proxy's reload: the file is read only if it is a regular file, never waited on (see readRegularFileHead). */
  readonly running?: boolean;
}

/**
 * Load the configuration: defaults < file < env < flags. Never returns null: a named file must load;
 * only a missing default file falls back to the embedded defaults.
 */
export function loadConfig(options: LoadOptions = {}): ConfigResult {
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};
  // An empty variable is unset, as for every other variable (envOverrides): not a file named "".
  if (flags.config === '') return { ok: false, code: 'KZP_ERR_CONFIG_READ', issues: [{ where: 'flag --config', key: '(file)', message: 'the flag gave an empty path: name a configuration file' }] };
  const fromEnv = env['KAIZEN_PROXY_CONFIG'];
  const named = flags.config ?? (fromEnv === '' ? undefined : fromEnv);
  const source = readSource(named, options.defaultFile ?? DEFAULT_CONFIG_FILE, options.running === true);
  if ('issues' in source) return { ok: false, code: source.code, issues: source.issues };

  // Only the overrides that placed a value are named as where a key came from (PORT keeps an
  // invalid file `listen` as it is, so the error points at the file).
  const { raw, applied: overrides } = applyOverrides(source.raw, [...envOverrides(env), ...flagOverrides(flags)]);
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', issues: parsed.error.issues.flatMap((issue) => describeIssue(issue, source, overrides)) };
  }
  // Wrap mode drops gateway credentials and the file's unsafe_open_proxy (wrapDefaults in src/cli/wrap.ts).
  const exposure = [
    ...exposureIssues(parsed.data, { gateway: flags.gateway !== 'off', fileSwitch: flags.unsafeOpenProxy !== false }),
    ...sharedAddressIssues(parsed.data, (path) => whereIs(path, source, overrides)),
  ];
  if (exposure.length > 0) {
    return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', issues: exposure.map((issue) => ({ where: whereIs(issue.path, source, overrides), key: issue.path.join('.'), message: issue.message })) };
  }
  const apiKey = readApiKey(env, parsed.data, source, overrides);
  if (typeof apiKey === 'object' && apiKey !== null) return { ok: false, code: apiKey.code, issues: [apiKey.issue] };
  const gateway = readGatewayCredentials(parsed.data.gateway.credentials_file);
  if (!gateway.ok) {
    const where = gateway.where ?? whereIs(['gateway', 'credentials_file'], source, overrides);
    return { ok: false, code: gateway.code, issues: [{ where, key: 'gateway.credentials_file', message: gateway.message }] };
  }
  const upstreamCa = readUpstreamCa(parsed.data.intercept.upstream_ca);
  if (!upstreamCa.ok) {
    const where = upstreamCa.where ?? whereIs(['intercept', 'upstream_ca'], source, overrides);
    return { ok: false, code: upstreamCa.code, issues: [{ where, key: 'intercept.upstream_ca', message: upstreamCa.message }] };
  }
  const listeners = [parsed.data.listen, parsed.data.transparent, parsed.data.admin].filter((listener) => listener !== null);
  const upstream = resolveUpstreamProxy(parsed.data.upstream_proxy, parsed.data.upstream_no_proxy, env, listeners);
  if (!upstream.ok) return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', issues: [{ where: upstream.where ?? whereIs(['upstream_proxy'], source, overrides), key: 'upstream_proxy', message: upstream.message }] };
  return { ok: true, config: deepFreeze({ ...toDomain(parsed.data, apiKey, source.file, gateway.credentials, upstreamCa.pems), upstreamProxy: upstream.settings }) };
}

/**
 * Places each override's value in a copy of the file's values. A section the file leaves out is
 * made; one the file spells as something else than a mapping (`log: verbose`) is left as it is and
 * the override not applied, so validation names the file's line instead of the value vanishing.
 */
function applyOverrides(raw: unknown, overrides: readonly Override[]): { raw: unknown; applied: Override[] } {
  const applied: Override[] = [];
  const root = structuredClone(raw) as Record<string, unknown>;
  for (const override of overrides) {
    const path = override.path;
    const node = sectionOf(root, path.slice(0, -1));
    const last = path[path.length - 1];
    if (node === undefined || last === undefined) continue;
    const value = override.value(node[last]);
    if (value === KEEP) continue;
    node[last] = value;
    applied.push(override);
  }
  return { raw: root, applied };
}

/** The mapping at `path`, made where missing; undefined when the file put something else there. */
function sectionOf(root: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | undefined {
  let node = root;
  for (const key of path) {
    if (node[key] === undefined) node[key] = {};
    const child = node[key];
    if (child === null || typeof child !== 'object' || Array.isArray(child)) return undefined;
    node = child as Record<string, unknown>;
  }
  return node;
}

/**
 * One issue per offending key. zod puts an unrecognized key's parent in `path` and the names in
 * `keys`, so those are reported each at its own path and line, not at the parent's.
 */
function describeIssue(issue: z.core.$ZodIssue, source: Source, overrides: readonly Override[]): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((name) => {
      const path = [...issue.path.map(String), name];
      return { where: whereIs(path, source, overrides, true), key: path.join('.'), message: `Unrecognized key: ${JSON.stringify(name)}; see the README for the keys` };
    });
  }
  const path = issue.path.map(String);
  return [{ where: whereIs(path, source, overrides), key: path.join('.') || '(root)', message: issue.message }];
}

/**
 * The key goes out as an Authorization header value, which undici refuses when it holds a line
 * break, a control character or anything beyond latin1: every verdict would then fail closed as
 * "control plane could not be reached". Keys are tokens, so one line of visible ASCII is asked for
 * here, at load, where the error can name its source. The value itself is never echoed.
 */
const API_KEY_RE = /^[\x21-\x7e]+$/;
const API_KEY_EXPECTED = 'expected one line of visible ASCII (no spaces, control characters or line breaks inside)';

function readApiKey(env: NodeJS.ProcessEnv, file: FileConfig, source: Source, overrides: readonly Override[]): string | null | { code: ConfigErrorCode; issue: ConfigIssue } {
  const fromEnv = env['KAIZEN_API_KEY']?.trim();
  if (fromEnv) {
    if (!API_KEY_RE.test(fromEnv)) return { code: 'KZP_ERR_CONFIG_INVALID', issue: { where: 'env KAIZEN_API_KEY', key: 'KAIZEN_API_KEY', message: `the API key is not usable as an HTTP header value: ${API_KEY_EXPECTED}` } };
    return fromEnv;
  }
  const keyFile = file.control_plane.api_key_file;
  if (keyFile === null) return null;
  const where = whereIs(['control_plane', 'api_key_file'], source, overrides);
  try {
    const key = readFileSync(keyFile, 'utf8').trim();
    if (key === '') return { code: 'KZP_ERR_CONFIG_INVALID', issue: { where, key: 'control_plane.api_key_file', message: `the file ${keyFile} is empty` } };
    if (!API_KEY_RE.test(key)) return { code: 'KZP_ERR_CONFIG_INVALID', issue: { where, key: 'control_plane.api_key_file', message: `the API key in ${keyFile} is not usable as an HTTP header value: ${API_KEY_EXPECTED}` } };
    return key;
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return { code: 'KZP_ERR_CONFIG_READ', issue: { where, key: 'control_plane.api_key_file', message: keyFileUnreadable(keyFile, reason) } };
  }
}

function toDomain(file: FileConfig, apiKey: string | null, source: string | null, credentials: readonly GatewayCredential[], upstreamCa: readonly string[]): Omit<ProxyConfig, 'upstreamProxy'> {
  return {
    listen: file.listen,
    agent: file.agent,
    controlPlane: {
      url: file.control_plane.url,
      apiKey,
      apiKeyFile: file.control_plane.api_key_file,
      timeoutMs: file.control_plane.timeout,
    },
    fail: file.fail,
    mode: file.mode,
    monitorGuard: file.monitor_guard,
    policies: file.policies,
    policySync: { intervalMs: file.policy_sync.interval },
    tls: { sniMismatch: file.tls.sni_mismatch },
    // Absolute from here on: the CA file is handed to wrapped children (NODE_EXTRA_CA_CERTS), which
    // resolve a relative path against their own working directory, not ours at start.
    intercept: { caDir: resolve(file.intercept.ca_dir), hosts: file.intercept.hosts, upstreamCaFile: file.intercept.upstream_ca, upstreamCa },
    tools: file.tools.map((route) => (route.publisher === undefined ? { match: route.match, tool: route.tool } : { match: route.match, tool: route.tool, publisher: route.publisher })),
    publishers: file.publishers,
    cache: {
      maxEntries: file.cache.max_entries,
      allowTtlMs: file.cache.allow_ttl,
      blockTtlMs: file.cache.block_ttl,
      staleIfErrorMs: file.cache.stale_if_error,
    },
    network: {
      allowPrivate: file.network.allow_private,
      connectTimeoutMs: file.network.connect_timeout,
      idleTimeoutMs: file.network.idle_timeout,
      dnsTtlMs: file.network.dns_ttl,
      dnsNegativeTtlMs: file.network.dns_negative_ttl,
      dnsStaleIfErrorMs: file.network.dns_stale_if_error,
      dnsTimeoutMs: file.network.dns_timeout,
    },
    limits: {
      maxConnections: file.limits.max_connections,
      maxConnectionsPerClient: file.limits.max_connections_per_client,
      clientRatePerSecond: file.limits.client_rate,
      clientBurst: file.limits.client_burst,
      maxHeaderBytes: file.limits.max_header_bytes,
      headerTimeoutMs: file.limits.header_timeout,
      drainTimeoutMs: file.limits.drain_timeout,
    },
    log: { level: file.log.level },
    admin: file.admin,
    transparent: file.transparent,
    gateway: { credentialsFile: file.gateway.credentials_file, credentials },
    unsafeOpenProxy: file.unsafe_open_proxy,
    observed: { enabled: file.observed.enabled, maxDestinations: file.observed.max_destinations, flushIntervalMs: file.observed.flush_interval },
    dataDir: file.data_dir,
    spool: { maxBytes: file.spool.max_bytes, replayRatePerSecond: file.spool.replay_rate, fsyncIntervalMs: file.spool.fsync_interval },
    file: source,
  };
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => `${issue.where}: ${issue.key}: ${issue.message}`).join('\n');
}

/** What a command prints on stderr for a failed load: the stable code, a headline, every issue. */
export function formatConfigFailure(failure: { readonly code: ConfigErrorCode; readonly issues: readonly ConfigIssue[] }): string {
  const headline = failure.code === 'KZP_ERR_CONFIG_READ' ? 'cannot read the configuration' : 'invalid configuration';
  return `kaizen-proxy: ${failure.code}: ${headline}\n${formatIssues(failure.issues)}\n`;
}
