import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { cleanEnv, runCli, serveUntilListening, tempDir, writeFile } from './cli-process.js';

/**
 * Zero durations through the built CLI. A deadline or an idle limit of 0 has no sensible meaning
 * (control_plane.timeout 0s refused every action, limits.header_timeout 0s disabled the slowloris
 * deadline, network.idle_timeout 0s never closed idle tunnels...), so 0 is a configuration error
 * naming the file, the line and the key. Where 0 means "off" (a cache lifetime, the drain) it stays.
 */
const REFUSED = [
  ['control_plane', 'timeout'],
  ['network', 'connect_timeout'],
  ['network', 'idle_timeout'],
  ['network', 'dns_timeout'],
  ['limits', 'header_timeout'],
] as const;

const OFF_AT_ZERO = [
  ['cache', 'allow_ttl', 'allowTtlMs'],
  ['cache', 'block_ttl', 'blockTtlMs'],
  ['cache', 'stale_if_error', 'staleIfErrorMs'],
  ['network', 'dns_ttl', 'dnsTtlMs'],
  ['network', 'dns_negative_ttl', 'dnsNegativeTtlMs'],
  ['network', 'dns_stale_if_error', 'dnsStaleIfErrorMs'],
  ['limits', 'drain_timeout', 'drainTimeoutMs'],
] as const;

let cp: FakeControlPlane;
let dir: string;

beforeAll(async () => {
  cp = await startFakeControlPlane();
  dir = tempDir();
});

afterAll(async () => {
  await cp.close();
});

describe('zero durations', () => {
  it('are refused where 0 makes no sense: file, line, key and the minimum, exit 1', async () => {
    for (const [section, key] of REFUSED) {
      for (const zero of ['0s', '0ms', '0.0001s']) {
        const file = writeFile(dir, `${section}-${key}.yaml`, `admin: off\n${section}:\n  ${key}: ${zero}\n`);
        const result = await runCli(['check-config', file]);
        expect(result.code, `${section}.${key}: ${zero}`).toBe(1);
        expect(result.stderr, `${section}.${key}: ${zero}`).toBe(`kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n${file}:3: ${section}.${key}: expected at least 1ms, got "${zero}"\n`);
        expect(result.stdout).toBe('');
      }
    }
  });

  it('are accepted, as off, where 0 means off', async () => {
    for (const [section, key, field] of OFF_AT_ZERO) {
      const file = writeFile(dir, `off-${section}-${key}.yaml`, `admin: off\n${section}:\n  ${key}: 0s\n`);
      const result = await runCli(['check-config', file]);
      expect(result.code, `${section}.${key}`).toBe(0);
      const printed = JSON.parse(result.stdout) as Record<string, Record<string, unknown>>;
      expect(printed[section]?.[field], `${section}.${key}`).toBe(0);
    }
  });

  it('control_plane.timeout: 0s stops serve before it listens and before any control-plane call', async () => {
    const file = writeFile(dir, 'serve-timeout.yaml', `listen: 127.0.0.1:0\nadmin: off\ncontrol_plane:\n  url: ${cp.url}\n  timeout: 0s\n`);
    const result = await serveUntilListening(['-c', file], cleanEnv({ KAIZEN_API_KEY: 'kz_test_zero_timeout' }));
    expect(result.listened).toBe(false);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n${file}:5: control_plane.timeout: expected at least 1ms, got "0s"\n`);
    expect(cp.requests).toEqual([]);
  });
});
