import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssues, loadConfig } from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'kzp-reflex-config-'));
const NO_DEFAULT = join(dir, 'absent.yaml');

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('configuration of the local reflex (policies, mode, sync, SNI)', () => {
  it('defaults: enforce, guard kept in monitor mode, no policies, sync every 60s, SNI mismatch blocked', () => {
    const result = loadConfig({ env: {}, defaultFile: NO_DEFAULT });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({ mode: 'enforce', monitorGuard: true, policies: [], policySync: { intervalMs: 60_000 }, tls: { sniMismatch: 'block' } });
  });

  it('reads policies in Kaizen\'s shape, normalised and frozen', () => {
    const path = file(
      'policies.yaml',
      ['policies:', '  - name: exfil', '    mode: blocklist', '    rules: { domains: ["*.Pastebin.com"], ip: [169.254.169.254] }', '  - mode: correlation', '    rules: { risky_sequence: read_then_connect }', 'policy_sync: { interval: 5m }', 'tls: { sni_mismatch: allow }', 'monitor_guard: false'].join('\n'),
    );
    const result = loadConfig({ env: {}, flags: { config: path } });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.policies).toEqual([
      { name: 'exfil', label: '"exfil"', mode: 'blocklist', enabled: true, rules: { domains: ['pastebin.com'], ip: ['169.254.169.254/32'] } },
      { name: null, label: '#1', mode: 'correlation', enabled: true, rules: { riskySequence: 'read_then_connect' } },
    ]);
    expect(result.config.policySync.intervalMs).toBe(300_000);
    expect(result.config.tls.sniMismatch).toBe('allow');
    expect(result.config.monitorGuard).toBe(false);
    expect(Object.isFrozen(result.config.policies[0]?.rules.domains)).toBe(true);
  });

  it('a bad policy names the file, the line, the policy and the key', () => {
    const path = file('bad-policy.yaml', ['policies:', '  - name: ok', '    mode: blocklist', '    rules: { domains: [a.example] }', '  - name: typo', '    mode: blocklist', '    rules:', '      domainz: [b.example]'].join('\n'));
    const result = loadConfig({ env: {}, flags: { config: path } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map(({ where, key }) => ({ where, key }))).toEqual([{ where: `${path}:8`, key: 'policies.1.rules.domainz' }]);
    expect(result.issues[0]?.message).toMatch(/^policy "typo": unknown rule key "domainz"/);
    expect(formatIssues(result.issues)).toContain('policies.1.rules.domainz');
  });

  it('unknown fields of a policy in the file are errors (strict schema)', () => {
    const path = file('strict.yaml', 'policies:\n  - mode: blocklist\n    rules: {}\n    severity: high\n');
    const result = loadConfig({ env: {}, flags: { config: path } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(result.issues)).toMatch(/severity/);
  });

  it('mode from the file, KAIZEN_PROXY_MODE and --mode, in that precedence; bad values named', () => {
    const path = file('mode.yaml', 'mode: monitor\n');
    const fromFile = loadConfig({ env: {}, flags: { config: path } });
    expect(fromFile.ok && fromFile.config.mode).toBe('monitor');
    const fromEnv = loadConfig({ env: { KAIZEN_PROXY_MODE: 'enforce' }, flags: { config: path } });
    expect(fromEnv.ok && fromEnv.config.mode).toBe('enforce');
    const fromFlag = loadConfig({ env: { KAIZEN_PROXY_MODE: 'enforce' }, flags: { config: path, mode: 'monitor' } });
    expect(fromFlag.ok && fromFlag.config.mode).toBe('monitor');
    const bad = loadConfig({ env: { KAIZEN_PROXY_MODE: 'observe' }, defaultFile: NO_DEFAULT });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues[0]).toMatchObject({ where: 'env KAIZEN_PROXY_MODE', key: 'mode' });
  });

  it('refuses a sync interval under a second and an unknown sni_mismatch', () => {
    const path = file('sync.yaml', 'policy_sync: { interval: 100ms }\ntls: { sni_mismatch: warn }\n');
    const result = loadConfig({ env: {}, flags: { config: path } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => issue.key).sort()).toEqual(['policy_sync.interval', 'tls.sni_mismatch']);
  });

  it('the shipped config/kaizen-proxy.yaml loads as is, with no policy in force', () => {
    const result = loadConfig({ env: {}, flags: { config: 'config/kaizen-proxy.yaml' } });
    expect(result.ok ? result.config.policies : formatIssues(result.issues)).toEqual([]);
  });

  it('its commented example policies are valid once uncommented', () => {
    const lines = readFileSync('config/kaizen-proxy.yaml', 'utf8').split('\n');
    const at = lines.indexOf('policies: []');
    const example = [];
    for (let i = at + 1; lines[i]?.startsWith('#  ') === true; i += 1) example.push((lines[i] ?? '').slice(1));
    const path = file('example.yaml', ['policies:', ...example].join('\n'));
    const result = loadConfig({ env: {}, flags: { config: path } });
    expect(result.ok ? result.config.policies.map((p) => [p.name, p.mode, p.enabled]) : formatIssues(result.issues)).toEqual([
      ['no-paste-sites', 'blocklist', true],
      ['openai-only', 'allowlist', false],
    ]);
  });
});
