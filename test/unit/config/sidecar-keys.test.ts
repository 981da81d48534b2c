import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/cli/args.js';
import { loadConfig } from '../../../src/config/load.js';
import type { FlagOverrides } from '../../../src/config/types.js';

const dir = mkdtempSync(join(tmpdir(), 'kzp-sidecar-config-'));
const NO_DEFAULT = join(dir, 'absent.yaml');

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function load(flags: FlagOverrides = {}) {
  return loadConfig({ env: {}, defaultFile: NO_DEFAULT, flags });
}

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

describe('admin, transparent, gateway and unsafe_open_proxy keys', () => {
  it('defaults: admin on 127.0.0.1:9901, transparent off, no gateway, not open', () => {
    const result = load();
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.admin).toEqual({ host: '127.0.0.1', port: 9901 });
    expect(result.config.transparent).toBeNull();
    expect(result.config.gateway).toEqual({ credentialsFile: null, credentials: [] });
    expect(result.config.unsafeOpenProxy).toBe(false);
  });

  it('reads admin: off and transparent from the file, and the flags over them', () => {
    const file = write('keys.yaml', 'admin: off\ntransparent: 127.0.0.1:15001\n');
    const fromFile = load({ config: file });
    expect(fromFile.ok && fromFile.config.admin).toBeNull();
    expect(fromFile.ok && fromFile.config.transparent).toEqual({ host: '127.0.0.1', port: 15001 });
    const flagged = load({ config: file, admin: '127.0.0.1:0', transparent: 'off' });
    expect(flagged.ok && flagged.config.admin).toEqual({ host: '127.0.0.1', port: 0 });
    expect(flagged.ok && flagged.config.transparent).toBeNull();
  });

  it('names the key when an admin address is malformed', () => {
    const result = load({ admin: 'nine-nine-oh-one' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ where: 'flag --admin', key: 'admin' });
  });

  it('refuses listening beyond loopback without gateway credentials or unsafe_open_proxy', () => {
    const result = load({ listen: '0.0.0.0:8080' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]?.key).toBe('listen');
    expect(result.issues[0]?.where).toBe('flag --listen');
    expect(result.issues[0]?.message).toMatch(/gateway\.credentials_file.*--unsafe-open-proxy/);
    const open = load({ listen: '0.0.0.0:8080', unsafeOpenProxy: true });
    expect(open.ok && open.config.unsafeOpenProxy).toBe(true);
  });

  it('in wrap mode (no gateway, the flag alone opens) names only --unsafe-open-proxy', () => {
    const wrapMode = { gateway: 'off', unsafeOpenProxy: false } as const;
    const result = load({ ...wrapMode, listen: '0.0.0.0:0', transparent: '0.0.0.0:15001' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => issue.message)).toEqual([
      'listening on 0.0.0.0 (beyond loopback) needs --unsafe-open-proxy to let anyone who reaches the port use the proxy (wrap mode takes no gateway credentials)',
      'the transparent listener on 0.0.0.0 (beyond loopback) takes no credentials; keep it on loopback (iptables REDIRECT delivers there) or pass --unsafe-open-proxy',
    ]);
  });

  it('refuses a transparent listener beyond loopback even with gateway credentials', () => {
    const credentials = write('creds-a', `ci-bot:${digest('t0ken')}\n`);
    const file = write('gw.yaml', `listen: 0.0.0.0:8080\ngateway:\n  credentials_file: ${credentials}\n`);
    expect(load({ config: file }).ok).toBe(true);
    const transparent = load({ config: file, transparent: '0.0.0.0:15001' });
    expect(transparent.ok).toBe(false);
    if (transparent.ok) return;
    expect(transparent.issues.map((issue) => issue.key)).toEqual(['transparent']);
  });

  it('reads gateway credentials as digests and names the bad line of a credentials file', () => {
    const good = write('creds-b', `# agents\nci-bot:${digest('a')}\n\nbilling:${digest('b').toUpperCase()}\n`);
    const result = load({ config: write('gw2.yaml', `gateway:\n  credentials_file: ${good}\n`) });
    expect(result.ok && result.config.gateway.credentials).toEqual([
      { agent: 'ci-bot', sha256: digest('a') },
      { agent: 'billing', sha256: digest('b') },
    ]);
    const bad = write('creds-c', `ci-bot:${digest('a')}\nbilling:plaintext-token\n`);
    const failed = load({ config: write('gw3.yaml', `gateway:\n  credentials_file: ${bad}\n`) });
    expect(failed.ok).toBe(false);
    if (failed.ok) return;
    expect(failed.code).toBe('KZP_ERR_CONFIG_INVALID');
    expect(failed.issues[0]).toMatchObject({ where: `${bad}:2`, key: 'gateway.credentials_file' });
    const missing = load({ config: write('gw4.yaml', `gateway:\n  credentials_file: ${join(dir, 'nope')}\n`) });
    expect(!missing.ok && missing.issues[0]?.message).toMatch(/cannot read .*ENOENT/);
    expect(!missing.ok && missing.code).toBe('KZP_ERR_CONFIG_READ');
  });

  it('parses --admin, --transparent and --unsafe-open-proxy', () => {
    const command = parseCommand(['serve', '--admin', 'off', '--transparent', '127.0.0.1:15001', '--unsafe-open-proxy']);
    expect(command).toMatchObject({ name: 'serve', flags: { admin: 'off', transparent: '127.0.0.1:15001', unsafeOpenProxy: true } });
  });
});
