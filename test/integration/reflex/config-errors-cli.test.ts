import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aliasBomb } from '../../helpers/alias-bomb.js';
import { cleanEnv, runCli, tempDir, writeFile } from './cli-process.js';

/** Configuration errors through the built CLI: each command's exit code, the stable code, the file. */
describe('configuration errors from the CLI', () => {
  it('an alias bomb is a configuration error for serve (1), check-config (1) and check (2), not a crash', async () => {
    const file = writeFile(tempDir(), 'bomb.yaml', aliasBomb());
    for (const [args, exit] of [
      [['serve', '-c', file], 1],
      [['check-config', file], 1],
      [['check', 'example.com:443', '-c', file], 2],
    ] as const) {
      const result = await runCli(args);
      expect(result.code, args[0]).toBe(exit);
      expect(result.stderr, args[0]).toContain('KZP_ERR_CONFIG_INVALID');
      expect(result.stderr, args[0]).toContain(`${file}: (yaml): `);
      expect(result.stderr, args[0]).not.toContain('fatal');
      expect(result.stdout, args[0]).not.toContain('listening');
    }
  });

  it('a file named explicitly that cannot be read is KZP_ERR_CONFIG_READ, for each command', async () => {
    const dir = tempDir();
    const keyDir = join(dir, 'key-is-a-directory');
    mkdirSync(keyDir);
    const withKeyDir = writeFile(dir, 'key-dir.yaml', `admin: off\ncontrol_plane: { api_key_file: ${JSON.stringify(keyDir)} }\n`);
    for (const [args, exit, where] of [
      [['serve', '-c', join(dir, 'absent.yaml')], 1, `${join(dir, 'absent.yaml')}: (file): cannot read the configuration file (ENOENT)`],
      [['check-config', dir], 1, `${dir}: (file): cannot read the configuration file (EISDIR)`],
      [['check', 'example.com:443', '-c', withKeyDir], 2, `${withKeyDir}:2: control_plane.api_key_file: cannot read ${keyDir} (EISDIR)`],
    ] as const) {
      const result = await runCli(args);
      expect(result.code, args[0]).toBe(exit);
      expect(result.stderr, args[0]).toBe(`kaizen-proxy: KZP_ERR_CONFIG_READ: cannot read the configuration\n${where}\n`);
    }
  });

  it('gateway.credentials_file and intercept.upstream_ca that cannot be read are KZP_ERR_CONFIG_READ too, for each command', async () => {
    const dir = tempDir();
    const absent = join(dir, 'absent');
    const aDirectory = join(dir, 'a-directory');
    mkdirSync(aDirectory);
    const files = [
      { key: 'gateway.credentials_file', yaml: writeFile(dir, 'credentials.yaml', `admin: off\ngateway: { credentials_file: ${JSON.stringify(absent)} }\n`), reason: `cannot read ${absent} (ENOENT)` },
      { key: 'intercept.upstream_ca', yaml: writeFile(dir, 'upstream-ca.yaml', `admin: off\nintercept: { upstream_ca: ${JSON.stringify(aDirectory)} }\n`), reason: `cannot read ${aDirectory} (EISDIR)` },
    ];
    for (const { key, yaml, reason } of files) {
      for (const [args, exit] of [
        [['serve', '--listen', '127.0.0.1:0', '-c', yaml], 1],
        [['check-config', yaml], 1],
        [['check', 'example.com:443', '-c', yaml], 2],
      ] as const) {
        const result = await runCli(args);
        expect(result.code, `${key} ${args[0]}`).toBe(exit);
        expect(result.stderr, `${key} ${args[0]}`).toBe(`kaizen-proxy: KZP_ERR_CONFIG_READ: cannot read the configuration\n${yaml}:2: ${key}: ${reason}\n`);
        expect(result.stdout, `${key} ${args[0]}`).not.toContain('listening');
      }
    }
  });

  it('a credentials_file or upstream_ca that is read but holds nothing usable stays KZP_ERR_CONFIG_INVALID', async () => {
    const dir = tempDir();
    const credentials = writeFile(dir, 'credentials', 'ci-bot:plaintext-token\n');
    const notPem = writeFile(dir, 'not.pem', 'no certificate here\n');
    const withCredentials = writeFile(dir, 'bad-credentials.yaml', `admin: off\ngateway: { credentials_file: ${JSON.stringify(credentials)} }\n`);
    const withUpstreamCa = writeFile(dir, 'bad-upstream-ca.yaml', `admin: off\nintercept: { upstream_ca: ${JSON.stringify(notPem)} }\n`);
    // Armour around bytes that are no certificate: createSecureContext would skip it, trusting nothing.
    const corrupt = writeFile(dir, 'corrupt.pem', 'corrupt bundle\n-----BEGIN CERTIFICATE-----\nAAAAbroken\n-----END CERTIFICATE-----\n');
    const withCorruptCa = writeFile(dir, 'corrupt-upstream-ca.yaml', `admin: off\nintercept: { upstream_ca: ${JSON.stringify(corrupt)} }\n`);
    for (const [yaml, issue] of [
      [withCredentials, `${credentials}:1: gateway.credentials_file: expected the token's SHA-256 as 64 hex characters after "ci-bot:"`],
      [withUpstreamCa, `${withUpstreamCa}:2: intercept.upstream_ca: ${notPem} holds no PEM certificate`],
      [withCorruptCa, `${corrupt}:2: intercept.upstream_ca: certificate 1 of 1 does not parse as an X.509 certificate`],
    ] as const) {
      const result = await runCli(['check-config', yaml]);
      expect(result.code, yaml).toBe(1);
      expect(result.stderr, yaml).toBe(`kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n${issue}\n`);
    }
  });

  it('an API key pasted as control_plane.api_key_file is named as such, never echoed, for each command', async () => {
    const dir = tempDir();
    const key = 'kz_live_PASTED7c41e09b';
    const pasted = writeFile(dir, 'pasted.yaml', `admin: off\ncontrol_plane:\n  api_key_file: ${key}\n`);
    const issue = `${pasted}:3: control_plane.api_key_file: cannot read the file it names (ENOENT): the value looks like an API key (kz_...), not a path; put the key in a file and name that here, or set KAIZEN_API_KEY`;
    for (const [args, exit] of [
      [['check-config', pasted], 1],
      [['check', 'example.com:443', '-c', pasted], 2],
      [['serve', '--listen', '127.0.0.1:0', '-c', pasted], 1],
    ] as const) {
      const result = await runCli(args, cleanEnv(), dir);
      expect(result.code, args[0]).toBe(exit);
      expect(result.stderr, args[0]).toBe(`kaizen-proxy: KZP_ERR_CONFIG_READ: cannot read the configuration\n${issue}\n`);
      expect(result.stdout + result.stderr, args[0]).not.toContain('PASTED7c41e09b');
    }
  });

  it('an API key pasted as the configuration file path is named as such, never echoed, from the flag or the environment', async () => {
    const dir = tempDir();
    const key = 'kz_live_CONFIGPATH9d2e41';
    const issue = '(config path): (file): cannot read the configuration file (ENOENT): its path looks like an API key (kz_...); the key belongs in KAIZEN_API_KEY or control_plane.api_key_file';
    for (const [args, env, exit] of [
      [['check-config', key], cleanEnv(), 1],
      [['check', 'example.com:443', '-c', key], cleanEnv(), 2],
      [['serve', '--listen', '127.0.0.1:0', '--config', key], cleanEnv(), 1],
      [['serve', '--listen', '127.0.0.1:0'], { ...cleanEnv(), KAIZEN_PROXY_CONFIG: key }, 1],
    ] as const) {
      const result = await runCli(args, env, dir);
      expect(result.code, args.join(' ')).toBe(exit);
      expect(result.stderr, args.join(' ')).toBe(`kaizen-proxy: KZP_ERR_CONFIG_READ: cannot read the configuration\n${issue}\n`);
      expect(result.stdout + result.stderr, args.join(' ')).not.toContain('CONFIGPATH9d2e41');
    }
  });

  it('a control-plane URL with userinfo is KZP_ERR_CONFIG_INVALID naming its source, never echoing the userinfo', async () => {
    const dir = tempDir();
    const password = 'cp-PASSWORD-7f3a';
    const user = 'cp-USER-91d0';
    const fromFile = writeFile(dir, 'userinfo.yaml', `admin: off\ncontrol_plane:\n  url: https://${user}:${password}@api.example/base/\n`);
    const plain = writeFile(dir, 'plain.yaml', 'admin: off\n');
    const fromEnv = cleanEnv({ KAIZEN_API_URL: `https://${password}@api.example/base` });
    const expected = (where: string): string =>
      `kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n${where}: control_plane.url: expected a URL without userinfo (user:password@), got one for https://api.example/base: only the scheme, host, port and path are used; the API key comes from KAIZEN_API_KEY or control_plane.api_key_file\n`;
    for (const [args, env, exit, where] of [
      [['check-config', fromFile], cleanEnv(), 1, `${fromFile}:3`],
      [['check', 'example.com:443', '-c', fromFile], cleanEnv(), 2, `${fromFile}:3`],
      [['serve', '--listen', '127.0.0.1:0', '-c', fromFile], cleanEnv(), 1, `${fromFile}:3`],
      [['check-config', plain], fromEnv, 1, 'env KAIZEN_API_URL'],
      [['serve', '--listen', '127.0.0.1:0', '-c', plain], fromEnv, 1, 'env KAIZEN_API_URL'],
    ] as const) {
      const result = await runCli(args, env);
      expect(result.code, `${args[0]} ${where}`).toBe(exit);
      expect(result.stderr, `${args[0]} ${where}`).toBe(expected(where));
      expect(result.stdout, `${args[0]} ${where}`).not.toContain('listening');
      for (const secret of [password, user]) expect(result.stdout + result.stderr, `${args[0]} ${where}`).not.toContain(secret);
    }
  });
  it('a malformed section stays an error when a variable or flag sets a key under it, named at its line', async () => {
    const file = writeFile(tempDir(), 'hid.yaml', 'log: verbose\ncontrol_plane: "https://api.example"\nnetwork: [10.0.0.0/8]\n');
    const env = cleanEnv({ LOG_LEVEL: 'info', KAIZEN_API_URL: 'https://x.example' });
    const result = await runCli(['check-config', file, '--allow-private', '10.0.0.0/8'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').sort()).toEqual(
      [
        '',
        'kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration',
        `${file}:1: log: Invalid input: expected object, received string`,
        `${file}:2: control_plane: Invalid input: expected object, received string`,
        `${file}:3: network: Invalid input: expected object, received array`,
      ].sort(),
    );
  });

  it('a section the file leaves out is still made for a variable or flag that sets a key under it', async () => {
    const file = writeFile(tempDir(), 'bare.yaml', 'admin: off\n');
    const result = await runCli(['check-config', file, '--allow-private', '10.0.0.0/8'], cleanEnv({ LOG_LEVEL: 'debug', KAIZEN_API_URL: 'https://x.example' }));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ log: { level: 'debug' }, controlPlane: { url: 'https://x.example' }, network: { allowPrivate: ['10.0.0.0/8'] } });
  });
  it('--config with an empty path says the flag gave one, for each command', async () => {
    for (const [args, exit] of [
      [['serve', '--config', ''], 1],
      [['check', 'example.com:443', '-c', ''], 2],
    ] as const) {
      const result = await runCli(args);
      expect(result.code, args[0]).toBe(exit);
      expect(result.stderr, args[0]).toBe('kaizen-proxy: KZP_ERR_CONFIG_READ: cannot read the configuration\nflag --config: (file): the flag gave an empty path: name a configuration file\n');
      expect(result.stdout, args[0]).not.toContain('listening');
    }
  });
});
