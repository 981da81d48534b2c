import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../reflex/cli-process.js';
import { CLI } from '../wrap/run-wrapper.js';

const execute = promisify(execFile);

async function cli(args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execute(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * The CLI under strace, with the Nth rename(2) of its one file-system thread (UV_THREADPOOL_SIZE=1,
 * io_uring off) failed with `inject` (`signal=KILL`: a crash at that point; `error=EIO`: a failure).
 */
async function cliWithFaultAtRename(args: readonly string[], cwd: string, nth: number, inject: string): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const renames = 'rename,renameat,renameat2';
  const strace = ['-f', '-qq', '-o', '/dev/null', '-e', `trace=${renames}`, '-e', `inject=${renames}:${inject}:when=${nth}`, process.execPath, CLI, ...args];
  try {
    const { stderr } = await execute('strace', strace, { cwd, env: { PATH: process.env['PATH'] ?? '', UV_THREADPOOL_SIZE: '1', UV_USE_IO_URING: '0' } });
    return { code: 0, signal: null, stderr };
  } catch (error) {
    const failed = error as { code: number | null; signal: string | null; stderr: string };
    return { code: failed.code, signal: failed.signal, stderr: failed.stderr };
  }
}

/** The built CLI: `ca init`, `ca show`, and a proxy that will not start on a CA it cannot use. */
describe('kaizen-proxy ca', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-ca-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ca init creates certs/ (key 0600), ca show prints the path and the SHA-256 fingerprint, a second init is refused', async () => {
    const init = await cli(['ca', 'init', '--name', 'Acme agents', '--days', '30'], dir);
    // Without --dir, intercept.ca_dir (default certs) is made absolute at start: the path printed works from any directory.
    expect(init).toMatchObject({ code: 0, stdout: expect.stringContaining(`certificate  ${join(dir, 'certs', 'ca.pem')}\n`) as unknown });
    expect((await stat(join(dir, 'certs', 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    const show = await cli(['ca', 'show'], dir);
    expect(show.code).toBe(0);
    expect(show.stdout.startsWith(`certificate  ${join(dir, 'certs', 'ca.pem')}\n`)).toBe(true);
    expect(show.stdout).toMatch(/^certificate {2}\S+\nsha256 {7}([0-9A-F]{2}:){31}[0-9A-F]{2}\nsubject {6}Acme agents\n/);
    const again = await cli(['ca', 'init'], dir);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('KZP_ERR_CA_EXISTS') as unknown });
    expect(await cli(['ca', 'init', '--days', '0'], dir)).toMatchObject({ code: 2 });
  });

  it('ca init --force replaces a 0644 key by a new 0600 file: a descriptor on the old one never reads the new key', async () => {
    const keyFile = join(dir, 'forced', 'ca-key.pem');
    expect((await cli(['ca', 'init', '--dir', 'forced'], dir)).code).toBe(0);
    await chmod(keyFile, 0o644);
    const oldKey = await readFile(keyFile, 'utf8');
    const before = await stat(keyFile);
    const reader = await open(keyFile, 'r');
    try {
      expect((await cli(['ca', 'init', '--dir', 'forced', '--force'], dir)).code).toBe(0);
      const after = await stat(keyFile);
      expect(after.mode & 0o777).toBe(0o600);
      expect(after.ino).not.toBe(before.ino);
      const newKey = await readFile(keyFile, 'utf8');
      expect(newKey).not.toBe(oldKey);
      expect((await reader.readFile({ encoding: 'utf8' })).includes(newKey)).toBe(false);
    } finally {
      await reader.close();
    }
    const certificate = new X509Certificate(await readFile(join(dir, 'forced', 'ca.pem')));
    expect(certificate.checkPrivateKey(createPrivateKey(await readFile(keyFile)))).toBe(true);
    expect((await stat(join(dir, 'forced', 'ca.pem'))).mode & 0o777).toBe(0o644);
    expect((await readdir(join(dir, 'forced'))).sort()).toEqual(['.gitignore', 'ca-key.pem', 'ca.pem']);
  });

  /** The SHA-256 fingerprint `ca show` prints for a CA directory, or 'none' when it refuses it. */
  async function fingerprint(sub: string): Promise<string> {
    return /^sha256 +(\S+)$/m.exec((await cli(['ca', 'show', '--dir', sub], dir)).stdout)?.[1] ?? 'none';
  }

  /** A CA in `sub`, then `ca init --force` on it with the fault; the old fingerprint and what the faulted run did. */
  async function faultedForce(sub: string, nth: number, inject: string): Promise<{ old: string; run: Awaited<ReturnType<typeof cliWithFaultAtRename>> }> {
    expect((await cli(['ca', 'init', '--dir', sub], dir)).code).toBe(0);
    const old = await fingerprint(sub);
    expect(old).toMatch(/^[0-9A-F:]{95}$/);
    return { old, run: await cliWithFaultAtRename(['ca', 'init', '--dir', sub, '--force'], dir, nth, inject) };
  }

  /** The next ca init --force leaves a loadable new pair and nothing else. */
  async function expectRepaired(sub: string, old: string): Promise<void> {
    expect((await cli(['ca', 'init', '--dir', sub, '--force'], dir)).code).toBe(0);
    expect(await fingerprint(sub)).not.toMatch(new RegExp(`^(none|${old})$`));
    expect((await readdir(join(dir, sub))).sort()).toEqual(['.gitignore', 'ca-key.pem', 'ca.pem']);
  }

  it('ca init --force killed at its first rename leaves the old CA; the next --force removes the temporary files left', async () => {
    const { old, run } = await faultedForce('killed-first', 1, 'signal=KILL');
    expect(run.signal).toBe('SIGKILL');
    expect(await fingerprint('killed-first')).toBe(old);
    await expectRepaired('killed-first', old);
  });

  it('ca init --force killed between its renames (key first, certificate last): the pair is refused, never used, and the next --force repairs it', async () => {
    const { old, run } = await faultedForce('killed-second', 2, 'signal=KILL');
    expect(run.signal).toBe('SIGKILL');
    const show = await cli(['ca', 'show', '--dir', 'killed-second'], dir);
    expect(show).toMatchObject({ code: 1, stdout: '' });
    expect(show.stderr).toMatch(/^kaizen-proxy: KZP_ERR_CA_MISMATCH: \S*killed-second\/ca-key\.pem is not the key of \S*killed-second\/ca\.pem; if a kaizen-proxy ca init --force was interrupted, run it again/);
    // The certificate clients trust is still the old one: the new key went in first.
    expect(new X509Certificate(await readFile(join(dir, 'killed-second', 'ca.pem'))).fingerprint256).toBe(old);
    const config = join(dir, 'killed-second.yaml');
    await writeFile(config, 'listen: 127.0.0.1:0\nadmin: off\nintercept: {ca_dir: killed-second, hosts: [api.stripe.com]}\n');
    const serve = await cli(['serve', '-c', config], dir);
    expect(serve.code).toBe(3);
    expect(serve.stderr).toContain('KZP_ERR_CA_MISMATCH');
    await expectRepaired('killed-second', old);
  });

  it('ca init --force whose second rename fails puts the first back: the old CA, and the errno reported', async () => {
    const { old, run } = await faultedForce('failed-second', 2, 'error=EIO');
    expect(run).toMatchObject({ code: 1, stderr: 'kaizen-proxy: KZP_ERR_CA_UNREADABLE: cannot write the CA in failed-second (EIO)\n' });
    expect(await fingerprint('failed-second')).toBe(old);
    expect((await readdir(join(dir, 'failed-second'))).sort()).toEqual(['.gitignore', 'ca-key.pem', 'ca.pem']);
    await expectRepaired('failed-second', old);
  });

  it('ca init --dir naming a regular file, or a path under one, is refused with a CA code that says a directory is expected', async () => {
    await writeFile(join(dir, 'afile'), 'not a directory\n');
    for (const [given, reason] of [
      ['afile', 'EEXIST'],
      [join('afile', 'sub'), 'ENOTDIR'],
    ] as const) {
      const init = await cli(['ca', 'init', '--dir', given], dir);
      expect(init).toMatchObject({ code: 1, stdout: '' });
      expect(init.stderr).toBe(`kaizen-proxy: KZP_ERR_CA_UNREADABLE: cannot create the CA directory ${given} (${reason}): --dir (or intercept.ca_dir) must be a directory, or a path where one can be made\n`);
    }
    expect(await readFile(join(dir, 'afile'), 'utf8')).toBe('not a directory\n');
  });

  it('check names an intercepted URL as the proxy would: its request, mapped to its tool (no CA needed)', async () => {
    const config = join(dir, 'check.yaml');
    await writeFile(config, 'admin: off\nintercept: {hosts: [localhost]}\ntools: [{match: "POST localhost/v1/refunds", tool: issue_refund, publisher: stripe}]\n');
    const check = await cli(['check', 'https://localhost:8443/v1/refunds?key=x', '--method', 'POST', '-c', config], dir);
    expect(JSON.parse(check.stdout)).toMatchObject({ kind: 'tool_call', tool: 'issue_refund', publisher: 'stripe', target: 'localhost:8443', method: 'POST' });
    const opaque = await cli(['check', 'https://example.com/v1/refunds', '-c', config], dir);
    expect(JSON.parse(opaque.stdout)).toMatchObject({ kind: 'connect', publisher: 'example', tool: null });
  });

  it('check-config refuses what serve would refuse: intercept.hosts with no usable CA is exit 1 with the CA code', async () => {
    const config = join(dir, 'check-no-ca.yaml');
    await writeFile(config, 'listen: 127.0.0.1:0\nadmin: off\nintercept: {ca_dir: absent, hosts: [api.stripe.com]}\n');
    const check = await cli(['check-config', config], dir);
    expect(check).toMatchObject({ code: 1, stdout: '' });
    expect(check.stderr).toContain(`KZP_ERR_CA_UNREADABLE: cannot read ${join(dir, 'absent', 'ca.pem')} (ENOENT); create a CA with kaizen-proxy ca init --dir ${join(dir, 'absent')}`);
    // Without intercept.hosts serve never loads the CA: nor does check-config.
    await writeFile(config, 'listen: 127.0.0.1:0\nadmin: off\nintercept: {ca_dir: absent}\n');
    expect(await cli(['check-config', config], dir)).toMatchObject({ code: 0, stderr: '' });
    expect((await cli(['ca', 'init', '--dir', 'absent'], dir)).code).toBe(0);
    await writeFile(config, 'listen: 127.0.0.1:0\nadmin: off\nintercept: {ca_dir: absent, hosts: [api.stripe.com]}\n');
    expect(await cli(['check-config', config], dir)).toMatchObject({ code: 0, stderr: '' });
  });

  it('check-config warns, as serve does, of a CA that expires within 30 days, and still exits 0', async () => {
    // A real CA made by ca init to end in 10 days: valid, so nothing refuses it, but due for renewal.
    expect((await cli(['ca', 'init', '--dir', 'soon', '--days', '10'], dir)).code).toBe(0);
    const config = join(dir, 'check-soon.yaml');
    await writeFile(config, 'listen: 127.0.0.1:0\nadmin: off\nintercept: {ca_dir: soon, hosts: [api.stripe.com]}\n');
    const check = await cli(['check-config', config], dir);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ intercept: { hosts: ['api.stripe.com'] } });
    const warnings = check.stderr.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(warnings).toEqual([expect.objectContaining({ level: 'warn', msg: 'the interception CA expires within 30 days; create a new one (kaizen-proxy ca init --force) and trust it', ca: join(dir, 'soon', 'ca.pem') })]);
    // serve gives the same line, word for word and field for field (its time and pid aside).
    const serve = await startServe(['-c', config], { PATH: process.env['PATH'] ?? '' }, dir);
    try {
      const served = await serve.waitFor((line) => line['level'] === 'warn' && String(line['msg']).includes('expires within 30 days'));
      const comparable = ({ time: _time, pid: _pid, hostname: _hostname, ...rest }: Record<string, unknown>): Record<string, unknown> => rest;
      expect(comparable(served)).toEqual(comparable(warnings[0] ?? {}));
    } finally {
      await serve.stop();
    }
    // A CA far from its end gives no warning.
    expect((await cli(['ca', 'init', '--dir', 'soon', '--days', '90', '--force'], dir)).code).toBe(0);
    expect(await cli(['check-config', config], dir)).toMatchObject({ code: 0, stderr: '' });
  });

  it('a CA key readable by group or others is used, with one warning naming it and its mode from ca show, check-config and serve', async () => {
    expect((await cli(['ca', 'init', '--dir', 'exposed'], dir)).code).toBe(0);
    const keyFile = join(dir, 'exposed', 'ca-key.pem');
    await chmod(keyFile, 0o640);
    const show = await cli(['ca', 'show', '--dir', 'exposed'], dir);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^sha256 +[0-9A-F:]{95}$/m);
    // Named as ca show names the CA: under the --dir given.
    const shown = join('exposed', 'ca-key.pem');
    expect(show.stderr).toBe(`kaizen-proxy: warning: ${shown} (mode 0640) is readable by group or others: anyone who can read it can impersonate every intercepted host; chmod 600 ${shown}\n`);
    const config = join(dir, 'check-exposed.yaml');
    await writeFile(config, 'listen: 127.0.0.1:0\nadmin: off\nintercept: {ca_dir: exposed, hosts: [api.stripe.com]}\n');
    const check = await cli(['check-config', config], dir);
    expect(check.code).toBe(0);
    const warnings = check.stderr.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
    const expected = { level: 'warn', ca_key: keyFile, mode: '0640' };
    expect(warnings).toEqual([expect.objectContaining(expected)]);
    const serve = await startServe(['-c', config], { PATH: process.env['PATH'] ?? '' }, dir);
    try {
      // Logged before listening (startServe waited for that): once.
      expect(await serve.waitFor((line) => line['ca_key'] === keyFile)).toMatchObject(expected);
      expect(serve.lines.filter((line) => line['ca_key'] === keyFile)).toHaveLength(1);
    } finally {
      await serve.stop();
    }
    // Readable by its owner alone: nothing to say.
    await chmod(keyFile, 0o600);
    expect(await cli(['ca', 'show', '--dir', 'exposed'], dir)).toMatchObject({ code: 0, stderr: '' });
    expect(await cli(['check-config', config], dir)).toMatchObject({ code: 0, stderr: '' });
  });

  it('serve with intercept.hosts and no usable CA exits 3 with the CA code, before listening', async () => {
    const config = join(dir, 'no-ca.yaml');
    await writeFile(config, 'listen: 127.0.0.1:0\nadmin: off\nintercept: {ca_dir: elsewhere, hosts: [api.stripe.com]}\n');
    const serve = await cli(['serve', '-c', config], dir);
    expect(serve.code).toBe(3);
    expect(serve.stderr).toContain(`KZP_ERR_CA_UNREADABLE: cannot read ${join(dir, 'elsewhere', 'ca.pem')} (ENOENT); create a CA with kaizen-proxy ca init --dir ${join(dir, 'elsewhere')}`);
    expect(serve.stdout).not.toContain('"listening"');
  });
});
