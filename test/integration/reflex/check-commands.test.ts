import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { cleanEnv, runCli, startServe, tempDir, writeFile } from './cli-process.js';

/** `kaizen-proxy check-config FILE` and `kaizen-proxy check TARGET`: exit codes and JSON, through the built CLI. */
const KEY = 'kz_live_check_SECRET_81c2';
let dir: string;
let listener: Server;
let port: number;
let cp: FakeControlPlane;

const POLICY_FILE = [
  'listen: 127.0.0.1:0',
  'admin: off',
  'network: { allow_private: [127.0.0.0/8] }',
  'policies:',
  '  - name: exfil',
  '    mode: blocklist',
  '    rules:',
  '      domains: ["*.pastebin.com"]',
  '      ip: [169.254.169.254]',
].join('\n');

beforeAll(async () => {
  dir = tempDir();
  listener = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const address = listener.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
  cp = await startFakeControlPlane();
});

afterAll(async () => {
  await cp.close();
  await new Promise<void>((resolve) => listener.close(() => { resolve(); }));
});

describe('kaizen-proxy check-config FILE', () => {
  it('prints the effective configuration as JSON with the key redacted, exit 0', async () => {
    const file = writeFile(dir, 'ok.yaml', POLICY_FILE);
    const result = await runCli(['check-config', file], cleanEnv({ KAIZEN_API_KEY: KEY, KAIZEN_PROXY_MODE: 'monitor' }));
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ mode: 'monitor', controlPlane: { apiKey: '[redacted]' }, policies: [{ name: 'exfil', rules: { domains: ['pastebin.com'], ip: ['169.254.169.254/32'] } }] });
    expect(result.stdout + result.stderr).not.toContain(KEY);
  });

  it('exits 1 for a control-plane URL with a query or fragment it would never send, never printing them', async () => {
    const file = writeFile(dir, 'url.yaml', 'agent: url-check\n');
    const result = await runCli(['check-config', file], cleanEnv({ KAIZEN_API_KEY: KEY, KAIZEN_API_URL: 'https://api.example.com/base/?qkey=URLQ#URLFRAG' }));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('env KAIZEN_API_URL: control_plane.url: expected a URL without a query (?...), a fragment (#...), got one for https://api.example.com/base:');
    for (const secret of ['URLQ', 'URLFRAG', KEY]) expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('prints the control-plane URL as it is used, without a trailing slash', async () => {
    const file = writeFile(dir, 'url-ok.yaml', 'agent: url-check\n');
    const result = await runCli(['check-config', file], cleanEnv({ KAIZEN_API_KEY: KEY, KAIZEN_API_URL: 'https://api.example.com/base/' }));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ controlPlane: { url: 'https://api.example.com/base' } });
  });

  it('exits 1 naming the file, line, policy and key', async () => {
    const file = writeFile(dir, 'bad.yaml', `${POLICY_FILE}\n      skill_patterns: ["(unclosed"]\n`);
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('KZP_ERR_CONFIG_INVALID');
    expect(result.stderr).toMatch(new RegExp(`${file}:10: policies\\.0\\.rules\\.skill_patterns\\.0: policy "exfil": "\\(unclosed": invalid regular expression`));
  });

  it('exits 1 for a CIDR in a short form, never reading it as another network', async () => {
    const file = writeFile(dir, 'short-cidr.yaml', `${POLICY_FILE}\n      ips: ["8.8/16", "192.168/16", "10.0.0.1/8"]\n`);
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('KZP_ERR_CONFIG_INVALID');
    const expected = 'not a CIDR range: expected a dotted-quad IPv4 or an IPv6 address, then /prefix (e.g. 10.0.0.0/8, 2001:db8::/32)';
    expect(result.stderr).toContain(`${file}:10: policies.0.rules.ips.0: policy "exfil": "8.8/16": ${expected}`);
    expect(result.stderr).toContain(`${file}:10: policies.0.rules.ips.1: policy "exfil": "192.168/16": ${expected}`);
    // Host bits are cleared, not refused: the third entry is no issue.
    expect(result.stderr).not.toContain('ips.2');
    expect(result.stderr).not.toMatch(/8\.0\.0\.8|192\.0\.0\.168/);
  });

  it('exits 1 for an API key that cannot be an HTTP header value, never printing it', async () => {
    const file = writeFile(dir, 'ok-key.yaml', POLICY_FILE);
    const result = await runCli(['check-config', file], cleanEnv({ KAIZEN_API_KEY: 'sk-abc\nsk-def' }));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/env KAIZEN_API_KEY: .*one line of visible ASCII/);
    expect(result.stderr).not.toMatch(/sk-abc|sk-def/);
  });

  it('exits 1 for a missing file, 2 without a file', async () => {
    expect((await runCli(['check-config', `${dir}/absent.yaml`])).code).toBe(1);
    expect((await runCli(['check-config'])).code).toBe(2);
  });

  it('FILE and --config (-c) together are a usage error, exit 2, not one of them ignored', async () => {
    const file = writeFile(dir, 'operand.yaml', 'admin: off\n');
    const other = writeFile(dir, 'other.yaml', 'admin: off\nagent: [not, a, name]\n');
    for (const args of [
      ['check-config', file, '-c', other],
      ['check-config', '--config', other, file],
      ['check-config', file, '--config', file],
    ]) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr, args.join(' ')).toBe("kaizen-proxy: check-config takes the file as FILE: drop --config (-c)\nRun 'kaizen-proxy --help' for usage.\n");
    }
  });

  it('an empty FILE is a usage error, exit 2', async () => {
    const result = await runCli(['check-config', '']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("kaizen-proxy: usage: kaizen-proxy check-config FILE\nRun 'kaizen-proxy --help' for usage.\n");
  });
});

describe('kaizen-proxy serve: the control-plane URL in the log', () => {
  it('the listening line shows the URL the client uses, and no line carries the API key', async () => {
    cp.routeWith('/v1/policy', reply.policies([]));
    const served = await startServe(['--listen', '127.0.0.1:0', '--admin', 'off'], cleanEnv({ KAIZEN_API_KEY: KEY, KAIZEN_API_URL: `${cp.url}/`, KAIZEN_PROXY_DATA_DIR: tempDir() }));
    try {
      const listening = await served.waitFor((line) => line['msg'] === 'listening');
      expect(listening['control_plane']).toBe(cp.url);
    } finally {
      await served.stop();
    }
    expect(JSON.stringify(served.lines)).not.toContain(KEY);
  });

  it('refuses to start with a query in the URL, exit 1 before listening, never echoing it', async () => {
    const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--admin', 'off'], cleanEnv({ KAIZEN_API_KEY: KEY, KAIZEN_API_URL: `${cp.url}/?qkey=URLQ` }));
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('listening');
    expect(result.stderr).toContain('KZP_ERR_CONFIG_INVALID');
    for (const secret of ['URLQ', KEY]) expect(result.stdout + result.stderr).not.toContain(secret);
  });
});

describe('kaizen-proxy check TARGET', () => {
  it('exit 1 with the local block as JSON, even when the name does not resolve', async () => {
    const file = writeFile(dir, 'policy.yaml', POLICY_FILE);
    const result = await runCli(['check', 'https://api.pastebin.com/upload', '--method', 'post', '-c', file]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      kind: 'connect',
      target: 'api.pastebin.com:443',
      decision: 'block',
      enforce: 'refuse',
      source: 'local',
      reason: 'blocked by local policy "exfil" (domains)',
      evidence: [{ kind: 'domains', value: 'pastebin.com', source: 'policy "exfil"' }],
    });
  });

  it('a publisher rule written in Unicode blocks the publisher derived from that IDN domain (exit 1)', async () => {
    const file = writeFile(dir, 'idn-publisher.yaml', `${POLICY_FILE}\n      publishers: ["Bücher"]\n`);
    const result = await runCli(['check', 'http://bücher.de/', '-c', file]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      target: 'xn--bcher-kva.de:80',
      publisher: 'xn--bcher-kva',
      decision: 'block',
      reason: 'blocked by local policy "exfil" (publishers)',
      evidence: [{ kind: 'publishers', value: 'xn--bcher-kva', source: 'policy "exfil"' }],
    });
  });

  it('exit 0 for an allowed, resolvable target (a real resolver: localhost)', async () => {
    const file = writeFile(dir, 'policy.yaml', POLICY_FILE);
    const result = await runCli(['check', `http://localhost:${port}/x?token=1`, '-c', file]);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(printed).toMatchObject({ kind: 'http', method: 'GET', target: `localhost:${port}`, decision: 'allow', source: 'local' });
    expect(printed['addresses']).toContain('127.0.0.1');
  });

  it('a name that resolves into a blocked range is blocked by the ip rule (exit 1)', async () => {
    const file = writeFile(dir, 'loopback-rule.yaml', `${POLICY_FILE}\n      ips: [127.0.0.0/8, "::1"]\n`);
    const result = await runCli(['check', `localhost:${port}`, '-c', file]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'block', source: 'local', reason: 'blocked by local policy "exfil" (ip)' });
  });

  it('the address guard answers first, and monitor mode reports would_block', async () => {
    const guarded = await runCli(['check', '169.254.169.254:80']);
    expect(guarded.code).toBe(1);
    expect(JSON.parse(guarded.stdout)).toMatchObject({ source: 'guard', reason: 'destination 169.254.169.254 is a cloud metadata address' });
    const file = writeFile(dir, 'policy.yaml', POLICY_FILE);
    const monitored = await runCli(['check', 'pastebin.com:443', '-c', file, '--mode', 'monitor']);
    expect(monitored.code).toBe(1);
    expect(JSON.parse(monitored.stdout)).toMatchObject({ mode: 'monitor', decision: 'block', enforce: 'forward', would_block: true });
  });

  it('every listener serve would open (listen, admin, transparent) is the proxy itself: block, exit 1', async () => {
    const opened = ['--allow-private', '127.0.0.0/8'];
    const [listen, admin, defaultAdmin, transparent, elsewhere] = await Promise.all([
      runCli(['check', '127.0.0.1:8080', '--listen', '127.0.0.1:8080', ...opened]),
      runCli(['check', `127.0.0.1:${port}`, '--admin', `127.0.0.1:${port}`, ...opened]),
      runCli(['check', '127.0.0.1:9901', ...opened]),
      runCli(['check', `127.0.0.1:${port}`, '--transparent', `127.0.0.1:${port}`, '--admin', 'off', ...opened]),
      runCli(['check', `127.0.0.1:${port}`, '--admin', 'off', ...opened]),
    ]);
    for (const [result, shown] of [[listen, 8080], [admin, port], [defaultAdmin, 9901], [transparent, port]] as const) {
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'block', source: 'guard', reason: `destination 127.0.0.1 port ${shown} is the proxy itself` });
    }
    // The same address and port when no listener of the proxy is on it: the opened range lets it through.
    expect(elsewhere.code).toBe(0);
    expect(JSON.parse(elsewhere.stdout)).toMatchObject({ decision: 'allow' });
  });

  it('with a key: synced policies and the control plane\'s verdict count', async () => {
    cp.routeWith('/v1/policy', reply.policies([{ name: 'org', mode: 'blocklist', rules: { domains: ['evil.example'] } }]));
    cp.respondWith(reply.block({ id: 'v-cp' }));
    const file = writeFile(dir, 'cp.yaml', `${POLICY_FILE}\ncontrol_plane: { url: "${cp.url}" }\n`);
    const env = cleanEnv({ KAIZEN_API_KEY: KEY });
    const synced = await runCli(['check', 'evil.example:443', '-c', file], env);
    expect(synced.code).toBe(1);
    expect(JSON.parse(synced.stdout)).toMatchObject({ source: 'local', reason: 'blocked by local policy synced "org" (domains)' });
    const byControlPlane = await runCli(['check', `localhost:${port}`, '-c', file], env);
    expect(byControlPlane.code).toBe(1);
    expect(JSON.parse(byControlPlane.stdout)).toMatchObject({ source: 'control_plane', verdict_id: 'v-cp' });
    expect(synced.stdout + synced.stderr + byControlPlane.stderr).not.toContain(KEY);
  });

  it('exit 2 for a malformed target, a missing target, an unresolvable allowed name and an invalid configuration', async () => {
    const [noPort, missing, scheme, unresolvable, badConfig] = await Promise.all([
      runCli(['check', 'no-port']),
      runCli(['check']),
      runCli(['check', 'ftp://example.com/']),
      runCli(['check', 'name.invalid:443']),
      runCli(['check', 'a.example:443'], cleanEnv({ KAIZEN_PROXY_MODE: 'observe' })),
    ]);
    expect([noPort.code, missing.code, scheme.code, unresolvable.code, badConfig.code]).toEqual([2, 2, 2, 2, 2]);
    expect(JSON.parse(unresolvable.stdout)).toMatchObject({ decision: 'allow', addresses: null });
    expect(badConfig.stderr).toContain('env KAIZEN_PROXY_MODE: mode');
  });
});
