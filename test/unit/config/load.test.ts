import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssues, loadConfig } from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'kzp-config-'));
const NO_DEFAULT = join(dir, 'absent.yaml');

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function load(flags: Parameters<typeof loadConfig>[0] = {}) {
  return loadConfig({ env: {}, defaultFile: NO_DEFAULT, ...flags });
}

describe('loadConfig', () => {
  it('runs on embedded defaults when no file exists', () => {
    const result = load();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { config } = result;
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.agent).toBe('egress-agent');
    expect(config.controlPlane).toEqual({ url: 'https://api.getkaizen.io', apiKey: null, apiKeyFile: null, timeoutMs: 1500 });
    expect(config.fail).toBe('closed');
    expect(config.cache).toEqual({ maxEntries: 10_000, allowTtlMs: 300_000, blockTtlMs: 30_000, staleIfErrorMs: 3_600_000 });
    expect(config.network).toEqual({ allowPrivate: [], connectTimeoutMs: 10_000, idleTimeoutMs: 300_000, dnsTtlMs: 30_000, dnsNegativeTtlMs: 5_000, dnsStaleIfErrorMs: 300_000, dnsTimeoutMs: 5_000 });
    expect(config.limits.maxHeaderBytes).toBe(16_384);
    expect(config.file).toBeNull();
    expect(Object.isFrozen(config.network.allowPrivate)).toBe(true);
  });

  it('reads the documented YAML shape with durations', () => {
    const file = writeConfig(
      'full.yaml',
      [
        'listen: 127.0.0.1:9090',
        'agent: billing-bot',
        'control_plane: { url: "https://cp.example/", timeout: 2s }',
        'fail: open',
        'cache: { max_entries: 5, allow_ttl: 1m, block_ttl: 1500ms, stale_if_error: 2h }',
        'network: { allow_private: [10.0.0.0/8, "fd00::/8"], connect_timeout: 3s, idle_timeout: 1m, dns_ttl: 2m, dns_negative_ttl: 0s }',
        'limits: { max_connections: 7, max_header_bytes: 8192, header_timeout: 5s, max_connections_per_client: 3, client_rate: 0.5, client_burst: 4 }',
        'log: { level: debug }',
      ].join('\n'),
    );
    const result = load({ flags: { config: file } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.controlPlane.url).toBe('https://cp.example');
    expect(result.config.controlPlane.timeoutMs).toBe(2000);
    expect(result.config.cache.blockTtlMs).toBe(1500);
    expect(result.config.cache.staleIfErrorMs).toBe(7_200_000);
    expect(result.config.network.allowPrivate).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(result.config.network.dnsTtlMs).toBe(120_000);
    expect(result.config.network.dnsNegativeTtlMs).toBe(0);
    expect(result.config.limits.maxConnections).toBe(7);
    expect(result.config.limits).toMatchObject({ maxConnectionsPerClient: 3, clientRatePerSecond: 0.5, clientBurst: 4 });
    expect(result.config.fail).toBe('open');
    expect(result.config.file).toBe(file);
  });

  it('names file, line and key for a bad value', () => {
    const file = writeConfig('bad.yaml', 'agent: a\ncontrol_plane:\n  timeout: fast\n');
    const result = load({ flags: { config: file } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ where: `${file}:3`, key: 'control_plane.timeout' });
    expect(formatIssues(result.issues)).toMatch(/expected a duration/);
  });

  it('rejects unknown keys, naming them', () => {
    const file = writeConfig('unknown.yaml', 'listen: 127.0.0.1:1\nlimitz: {}\n');
    const result = load({ flags: { config: file } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(result.issues)).toMatch(/limitz/);
  });

  it('refuses an API key in the YAML file itself', () => {
    const file = writeConfig('key.yaml', 'control_plane: { api_key: kz_live_secret }\n');
    const result = load({ flags: { config: file } });
    expect(result.ok).toBe(false);
  });

  it('fails, never falls back, when a named file is missing', () => {
    const result = load({ flags: { config: join(dir, 'missing.yaml') } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]?.message).toMatch(/ENOENT/);
  });

  it('reports YAML syntax errors with a line', () => {
    const file = writeConfig('syntax.yaml', 'listen: 127.0.0.1:1\nagent: [unclosed\n');
    const result = load({ flags: { config: file } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]?.where).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+$`));
  });

  it('applies precedence flags > env > file > defaults', () => {
    const file = writeConfig('prec.yaml', 'agent: from-file\nfail: open\nlisten: 127.0.0.1:7000\n');
    const env = { KAIZEN_AGENT: 'from-env', KAIZEN_PROXY_FAIL: 'closed', PORT: '7100' };
    const result = loadConfig({ env, defaultFile: NO_DEFAULT, flags: { config: file, agent: 'from-flag' } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.agent).toBe('from-flag');
    expect(result.config.fail).toBe('closed');
    expect(result.config.listen).toEqual({ host: '127.0.0.1', port: 7100 });
  });

  it('KAIZEN_PROXY_LISTEN wins over PORT, and a bad env value names the variable', () => {
    const good = loadConfig({ env: { KAIZEN_PROXY_LISTEN: '[::1]:0', PORT: '1' }, defaultFile: NO_DEFAULT });
    expect(good.ok && good.config.listen).toEqual({ host: '::1', port: 0 });
    const bad = loadConfig({ env: { KAIZEN_PROXY_FAIL: 'sometimes' }, defaultFile: NO_DEFAULT });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues[0]).toMatchObject({ where: 'env KAIZEN_PROXY_FAIL', key: 'fail' });
  });

  it('takes the API key from the environment or api_key_file, never echoing it', () => {
    const keyFile = writeConfig('key.txt', 'kz_live_from_file\n');
    const file = writeConfig('keyfile.yaml', `control_plane: { api_key_file: ${JSON.stringify(keyFile)} }\n`);
    const fromFile = loadConfig({ env: {}, defaultFile: NO_DEFAULT, flags: { config: file } });
    expect(fromFile.ok && fromFile.config.controlPlane.apiKey).toBe('kz_live_from_file');
    const fromEnv = loadConfig({ env: { KAIZEN_API_KEY: 'kz_live_env' }, defaultFile: NO_DEFAULT, flags: { config: file } });
    expect(fromEnv.ok && fromEnv.config.controlPlane.apiKey).toBe('kz_live_env');
    const missing = writeConfig('nokey.yaml', `control_plane: { api_key_file: ${JSON.stringify(join(dir, 'nope'))} }\n`);
    const failed = loadConfig({ env: {}, defaultFile: NO_DEFAULT, flags: { config: missing } });
    expect(failed.ok).toBe(false);
    if (failed.ok) return;
    expect(failed.issues[0]?.key).toBe('control_plane.api_key_file');
  });

  it('names the limit key of a negative or fractional per-client limit', () => {
    for (const [text, key] of [
      ['limits: { client_rate: -1 }', 'limits.client_rate'],
      ['limits: { max_connections_per_client: 1.5 }', 'limits.max_connections_per_client'],
      ['limits: { client_burst: -2 }', 'limits.client_burst'],
    ] as const) {
      const file = writeConfig('limits.yaml', `${text}\n`);
      const result = load({ flags: { config: file } });
      expect(result.ok, text).toBe(false);
      if (result.ok) continue;
      expect(result.issues[0]).toMatchObject({ where: `${file}:1`, key });
    }
  });

  it('refuses dangerous or malformed values', () => {
    for (const [flags, key] of [
      [{ listen: '127.0.0.1:70000' }, 'listen'],
      [{ allowPrivate: ['10.0.0.0/99'] }, 'network.allow_private.0'],
      [{ logLevel: 'loud' }, 'log.level'],
      [{ agent: 'has space' }, 'agent'],
    ] as const) {
      const result = load({ flags });
      expect(result.ok, JSON.stringify(flags)).toBe(false);
      if (result.ok) continue;
      expect(result.issues[0]?.key).toBe(key);
      expect(result.issues[0]?.where).toMatch(/^flag --/);
    }
  });
});
