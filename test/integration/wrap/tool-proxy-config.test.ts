import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDecoyProxy, type DecoyProxy } from './decoy-proxy.js';
import { OPEN_LOOPBACK, readSummary, runWrapper, type WrapperRun } from './run-wrapper.js';
import { startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

/** The proxy URL wrap mode gives its child: loopback, a port chosen at start. */
const OWN_PROXY = /^http:\/\/127\.0\.0\.1:\d+$/;

/**
 * npm, pip and git prefer a proxy named in their own settings to HTTP_PROXY. A setting that names
 * another proxy (the decoy) must not take a wrapped command around kaizen-proxy.
 */
describe('wrap mode against tools configured with another proxy', () => {
  let dir: string;
  let home: string;
  let origin: WrapOrigin;
  let decoy: DecoyProxy;
  let homes = 0;
  let runs = 0;
  /** The decoy's requests before the current test: each test asserts on its own. */
  let decoyBefore = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-toolproxy-'));
    origin = await startWrapOrigin();
    decoy = await startDecoyProxy();
  });

  beforeEach(async () => {
    home = join(dir, `home-${++homes}`);
    decoyBefore = decoy.requests.length;
    await mkdir(home);
  });

  afterAll(async () => {
    await origin.close();
    await decoy.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `command` wrapped with a HOME of its own (no user or system config of the machine's). */
  async function wrapped(command: readonly string[], env: Record<string, string> = {}): Promise<WrapperRun & { targets: string[] }> {
    const summary = join(dir, `summary-${++runs}.json`);
    const isolated = { HOME: home, XDG_CONFIG_HOME: undefined, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_COUNT: undefined, GIT_CONFIG_PARAMETERS: undefined, GIT_TERMINAL_PROMPT: '0', PIP_CONFIG_FILE: undefined, PIP_PROXY: undefined, npm_config_userconfig: undefined };
    const run = await runWrapper([...OPEN_LOOPBACK, '--summary-json', summary, '--', ...command], { env: { ...isolated, ...env } });
    const targets = (await readSummary(summary)).destinations.map((row) => row.target);
    return { ...run, targets };
  }

  it('npm: npm_config_* variables and ~/.npmrc cannot name another proxy', async () => {
    await writeFile(join(home, '.npmrc'), `proxy=${decoy.url}\nhttps-proxy=${decoy.url}\nnoproxy=*\n`);
    const env = { NPM_CONFIG_PROXY: decoy.url, npm_config_https_proxy: decoy.url, npm_config_noproxy: 'internal.example,*' };
    const config = await wrapped(['npm', 'config', 'get', 'proxy', 'https-proxy', 'noproxy'], env);
    expect(config.code).toBe(0);
    const lines = config.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^proxy=/);
    expect(lines[0]?.slice('proxy='.length)).toMatch(OWN_PROXY);
    expect(lines[1]?.slice('https-proxy='.length)).toMatch(OWN_PROXY);
    expect(lines[2]).toBe('noproxy=localhost,127.0.0.1,::1,[::1],internal.example');

    const view = await wrapped(['npm', 'view', 'left-pad', '--registry', `${origin.url}/`, '--fetch-retries', '0'], env);
    expect(view.targets).toEqual([origin.target]);
    expect(decoy.requests.slice(decoyBefore)).toEqual([]);
  });

  it('pip: an inherited PIP_PROXY cannot name another proxy', async () => {
    const before = origin.requests.length;
    const pip = ['/usr/bin/python3', '-m', 'pip', 'download', '--no-cache-dir', '--disable-pip-version-check', '--retries', '0', '--no-deps', '-d', join(home, 'dl')];
    const run = await wrapped([...pip, '--index-url', `${origin.url}/simple/`, 'kzp-absent'], { PIP_PROXY: decoy.url });
    expect(run.code).not.toBe(0);
    expect(run.targets).toEqual([origin.target]);
    expect(origin.requests.slice(before)).toEqual(['GET /simple/kzp-absent/']);
    expect(decoy.requests.slice(decoyBefore)).toEqual([]);
  });

  it('pip: a proxy in ~/.config/pip/pip.conf cannot name another proxy', async () => {
    await mkdir(join(home, '.config', 'pip'), { recursive: true });
    await writeFile(join(home, '.config', 'pip', 'pip.conf'), `[download]\nproxy = ${decoy.url}\n`);
    const before = origin.requests.length;
    const pip = ['/usr/bin/python3', '-m', 'pip', 'download', '--no-cache-dir', '--disable-pip-version-check', '--retries', '0', '--no-deps', '-d', join(home, 'dl')];
    const run = await wrapped([...pip, '--index-url', `${origin.url}/simple/`, 'kzp-absent']);
    expect(run.code).not.toBe(0);
    expect(run.targets).toEqual([origin.target]);
    expect(origin.requests.slice(before)).toEqual(['GET /simple/kzp-absent/']);
    expect(decoy.requests.slice(decoyBefore)).toEqual([]);
  });

  it("git: http.proxy in ~/.gitconfig loses to the proxy, and the parent's GIT_CONFIG_COUNT pairs stay", async () => {
    await writeFile(join(home, '.gitconfig'), `[http]\n\tproxy = ${decoy.url}\n`);
    const env = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.name', GIT_CONFIG_VALUE_0: 'kept by wrap mode' };
    const run = await wrapped(['git', 'ls-remote', `${origin.url}/absent.git`], env);
    expect(run.code).not.toBe(0);
    expect(run.targets).toEqual([origin.target]);
    expect(decoy.requests.slice(decoyBefore)).toEqual([]);

    const name = await wrapped(['git', 'config', 'user.name'], env);
    expect(name).toMatchObject({ code: 0, stdout: 'kept by wrap mode\n' });
  });

  it("git: an inherited GIT_CONFIG_PARAMETERS (git -c) naming another proxy loses too, and its other settings stay", async () => {
    const env = { GIT_CONFIG_PARAMETERS: `'http.proxy'='${decoy.url}' 'user.name'='kept by wrap mode'` };
    const run = await wrapped(['git', 'ls-remote', `${origin.url}/absent.git`], env);
    expect(run.code).not.toBe(0);
    expect(run.targets).toEqual([origin.target]);
    expect(decoy.requests.slice(decoyBefore)).toEqual([]);

    const name = await wrapped(['git', 'config', 'user.name'], env);
    expect(name).toMatchObject({ code: 0, stdout: 'kept by wrap mode\n' });
  });
});
