import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../../helpers/closed-port.js';
import { startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { cleanEnv, runCli, serveUntilListening, tempDir, writeFile } from './cli-process.js';

/**
 * The listener keys (listen, transparent, admin) through the built CLI: a value of the wrong type
 * says what is expected, and two listeners on one address are a configuration error naming both
 * keys, found at load: before any control-plane call and before any bind.
 */
const HEADLINE = 'kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n';
let cp: FakeControlPlane;
let dir: string;
let port: number;

beforeAll(async () => {
  cp = await startFakeControlPlane();
  dir = tempDir();
  port = await closedPort();
});

afterAll(async () => {
  await cp.close();
});

describe('a listener value of the wrong type', () => {
  it('says HOST:PORT is expected (or off, for admin and transparent), with the value given', async () => {
    const cases = [
      ['admin: 9901', 'admin: expected HOST:PORT such as 127.0.0.1:9901, or off, got 9901'],
      ['admin: true', 'admin: expected HOST:PORT such as 127.0.0.1:9901, or off, got true'],
      ['transparent: true', 'transparent: expected HOST:PORT such as 127.0.0.1:15001, or off, got true'],
      ['transparent: [127.0.0.1:15001]', 'transparent: expected HOST:PORT such as 127.0.0.1:15001, or off, got ["127.0.0.1:15001"]'],
      ['listen: 8080', 'listen: expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, got 8080'],
      ['listen: off', 'listen: expected HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, got "off"'],
    ] as const;
    for (const [line, issue] of cases) {
      const file = writeFile(dir, 'type.yaml', `agent: typed\n${line}\n`);
      const result = await runCli(['check-config', file]);
      expect(result.code, line).toBe(1);
      expect(result.stderr, line).toBe(`${HEADLINE}${file}:2: ${issue}\n`);
    }
  });
});

describe('two listeners on one address', () => {
  it('is refused at load naming both keys and where each came from, exit 1', async () => {
    const file = writeFile(dir, 'shared.yaml', `listen: 127.0.0.1:${port}\nadmin: 127.0.0.1:${port}\n`);
    const fromFile = await runCli(['check-config', file]);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toBe(`${HEADLINE}${file}:2: admin: 127.0.0.1:${port} is listen's address too (${file}:1): each listener needs its own; give admin another port, or off\n`);

    const fromFlags = await runCli(['check-config', writeFile(dir, 'plain.yaml', 'admin: off\n'), '--listen', `127.0.0.1:${port}`, '--transparent', `127.0.0.1:${port}`]);
    expect(fromFlags.code).toBe(1);
    expect(fromFlags.stderr).toBe(`${HEADLINE}flag --transparent: transparent: 127.0.0.1:${port} is listen's address too (flag --listen): each listener needs its own; give transparent another port, or off\n`);
  });

  it('names a listener the file leaves out as a default, not a line of the file', async () => {
    const file = writeFile(dir, 'default-admin.yaml', '# my config\n\nagent: bot\nmode: enforce\nlisten: 127.0.0.1:9901\n');
    const fromFile = await runCli(['check-config', file]);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toBe(`${HEADLINE}(defaults): admin: 127.0.0.1:9901 is listen's address too (${file}:5): each listener needs its own; give admin another port, or off\n`);

    const empty = writeFile(dir, 'empty.yaml', '');
    const fromEnv = await runCli(['check-config', empty], cleanEnv({ PORT: '9901' }));
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toBe(`${HEADLINE}(defaults): admin: 127.0.0.1:9901 is listen's address too (env PORT): each listener needs its own; give admin another port, or off\n`);

    // The other listener left to its default: said so where its place is named, not a line of the file.
    const admin = writeFile(dir, 'default-listen.yaml', 'agent: bot\nlog: { level: warn }\nadmin: 127.0.0.1:8080\n');
    const defaultListen = await runCli(['check-config', admin]);
    expect(defaultListen.code).toBe(1);
    expect(defaultListen.stderr).toBe(`${HEADLINE}${admin}:3: admin: 127.0.0.1:8080 is listen's address too (its default): each listener needs its own; give admin another port, or off\n`);
  });

  it('counts a wildcard address as every address of its family, and IPv6 however it is spelled', async () => {
    // 127.0.0.2: a transparent listener on 127.0.0.1 would take [::1] too (its IPv6 twin, below).
    const wildcard = writeFile(dir, 'wildcard.yaml', `listen: 0.0.0.0:${port}\nunsafe_open_proxy: true\ntransparent: 127.0.0.2:${port}\nadmin: "[::1]:${port}"\n`);
    const result = await runCli(['check-config', wildcard]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${HEADLINE}${wildcard}:3: transparent: 127.0.0.2:${port} overlaps listen's 0.0.0.0:${port} (${wildcard}:1): each listener needs its own; give transparent another port, or off\n`);

    const spelled = writeFile(dir, 'spelled.yaml', `listen: "[::1]:${port}"\nadmin: "[0:0::1]:${port}"\n`);
    const ipv6 = await runCli(['check-config', spelled]);
    expect(ipv6.code).toBe(1);
    expect(ipv6.stderr).toBe(`${HEADLINE}${spelled}:2: admin: [::1]:${port} is listen's address too (${spelled}:1): each listener needs its own; give admin another port, or off\n`);
  });

  it('counts localhost as both loopback addresses, since the resolver decides which it binds', async () => {
    const file = writeFile(dir, 'localhost.yaml', `listen: localhost:${port}\nadmin: 127.0.0.1:${port}\n`);
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${HEADLINE}${file}:2: admin: 127.0.0.1:${port} overlaps listen's localhost:${port} (${file}:1): each listener needs its own; give admin another port, or off\n`);

    const ipv6 = await runCli(['check-config', writeFile(dir, 'plain.yaml', 'admin: off\n'), '--listen', `[::1]:${port}`, '--transparent', `LocalHost:${port}`]);
    expect(ipv6.code).toBe(1);
    expect(ipv6.stderr).toBe(`${HEADLINE}flag --transparent: transparent: localhost:${port} overlaps listen's [::1]:${port} (flag --listen): each listener needs its own; give transparent another port, or off\n`);

    const serve = await serveUntilListening(['-c', file], cleanEnv({ KAIZEN_API_KEY: 'kz_test_localhost', KAIZEN_API_URL: cp.url }));
    expect(serve.listened).toBe(false);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe(result.stderr);
    expect(cp.requests).toEqual([]);
  });

  it('counts an IPv4-mapped IPv6 address as its IPv4 form, since the bind takes that address', async () => {
    const file = writeFile(dir, 'mapped.yaml', `listen: "[::ffff:127.0.0.1]:${port}"\nadmin: 127.0.0.1:${port}\n`);
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${HEADLINE}${file}:2: admin: 127.0.0.1:${port} overlaps listen's [::ffff:127.0.0.1]:${port} (${file}:1): each listener needs its own; give admin another port, or off\n`);

    // The other way round, in capitals, and the mapped wildcard ::ffff:0.0.0.0 (every IPv4 address).
    const capitals = await runCli(['check-config', writeFile(dir, 'plain.yaml', 'admin: off\n'), '--listen', `127.0.0.1:${port}`, '--transparent', `[::FFFF:127.0.0.1]:${port}`]);
    expect(capitals.code).toBe(1);
    expect(capitals.stderr).toBe(`${HEADLINE}flag --transparent: transparent: [::ffff:127.0.0.1]:${port} overlaps listen's 127.0.0.1:${port} (flag --listen): each listener needs its own; give transparent another port, or off\n`);
    const wildcard = await runCli(['check-config', writeFile(dir, 'plain.yaml', 'admin: off\n'), '--listen', `[::ffff:0.0.0.0]:${port}`, '--unsafe-open-proxy', '--transparent', `127.0.0.2:${port}`]);
    expect(wildcard.code).toBe(1);
    expect(wildcard.stderr).toBe(`${HEADLINE}flag --transparent: transparent: 127.0.0.2:${port} overlaps listen's [::ffff:0.0.0.0]:${port} (flag --listen): each listener needs its own; give transparent another port, or off\n`);

    const serve = await serveUntilListening(['-c', file], cleanEnv({ KAIZEN_API_KEY: 'kz_test_mapped', KAIZEN_API_URL: cp.url }));
    expect(serve.listened).toBe(false);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe(result.stderr);
    expect(cp.requests).toEqual([]);
  });

  it("counts a transparent listener on 127.0.0.1 as its [::1] twin's address too", async () => {
    const file = writeFile(dir, 'twin.yaml', `listen: 127.0.0.1:0\ntransparent: 127.0.0.1:${port}\nadmin: "[::1]:${port}"\n`);
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${HEADLINE}${file}:3: admin: [::1]:${port} overlaps the IPv6 twin of transparent's 127.0.0.1:${port} (${file}:2): each listener needs its own; give admin another port, or off\n`);

    const later = await runCli(['check-config', writeFile(dir, 'plain.yaml', 'admin: off\n'), '--listen', `[::1]:${port}`, '--transparent', `127.0.0.1:${port}`]);
    expect(later.code).toBe(1);
    expect(later.stderr).toBe(`${HEADLINE}flag --transparent: transparent: 127.0.0.1:${port}, whose IPv6 twin is [::1]:${port}, overlaps listen's [::1]:${port} (flag --listen): each listener needs its own; give transparent another port, or off\n`);

    const serve = await serveUntilListening(['-c', file]);
    expect(serve.listened).toBe(false);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe(result.stderr);
  });

  it('leaves port 0 (each gets its own) and another family alone', async () => {
    for (const args of [
      ['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--transparent', '127.0.0.1:0'],
      ['--listen', `127.0.0.1:${port}`, '--admin', `[::1]:${port}`],
      // Only a transparent listener on 127.0.0.1 gets an IPv6 twin.
      ['--transparent', `127.0.0.2:${port}`, '--admin', `[::1]:${port}`],
      // An IPv4-mapped address is IPv4: it leaves [::1] and another IPv4 address alone.
      ['--listen', `[::ffff:127.0.0.1]:${port}`, '--admin', `[::1]:${port}`],
      ['--listen', `[::ffff:127.0.0.1]:${port}`, '--admin', `127.0.0.2:${port}`],
    ]) {
      const result = await runCli(['check-config', writeFile(dir, 'ok.yaml', 'agent: ok\n'), ...args]);
      expect(result.code, args.join(' ')).toBe(0);
    }
  });

  it('stops serve before it listens and before any control-plane call', async () => {
    const file = writeFile(dir, 'serve-shared.yaml', `listen: 127.0.0.1:${port}\nadmin: 127.0.0.1:${port}\ncontrol_plane: { url: ${JSON.stringify(cp.url)} }\n`);
    const result = await serveUntilListening(['-c', file], cleanEnv({ KAIZEN_API_KEY: 'kz_test_shared_address' }));
    expect(result.listened).toBe(false);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${HEADLINE}${file}:2: admin: 127.0.0.1:${port} is listen's address too (${file}:1): each listener needs its own; give admin another port, or off\n`);
    expect(cp.requests).toEqual([]);
  });
});
