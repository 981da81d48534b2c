import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

const run = promisify(execFile);
const TOKEN = 's3cret:with-colon';
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' } as const;

/** curl's exit code and output, without throwing on failure. */
async function curl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('curl', ['-sS', '--max-time', '10', ...args], { env: { PATH: process.env['PATH'] } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/**
 * Gateway mode end to end: one proxy, agents named by Proxy-Authorization, 407 for everyone else.
 * A static origin also serves a bare repository over git's dumb HTTP protocol.
 */
describe('gateway identity (Proxy-Authorization: Basic agent:token)', () => {
  let dir: string;
  let origin: Server;
  let originUrl: string;
  let proxy: KaizenProxy;
  let proxyUrl: string;
  const logs = new CapturedLogs();
  const seen: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-gateway-'));
    const digest = createHash('sha256').update(TOKEN).digest('hex');
    const credentials = join(dir, 'credentials');
    await writeFile(credentials, `# agent:sha256(token)\nci-bot:${digest}\nother:${'0'.repeat(64)}\n`);

    const served = join(dir, 'served');
    const work = join(dir, 'work');
    const git = (cwd: string, ...args: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd, env: { ...process.env, ...GIT_ENV } });
    await git(dir, 'init', '-q', '-b', 'main', work);
    await writeFile(join(work, 'README'), 'through the gateway\n');
    await git(work, 'add', 'README');
    await git(work, 'commit', '-q', '-m', 'first');
    await git(dir, 'clone', '-q', '--bare', work, join(served, 'repo.git'));
    await git(join(served, 'repo.git'), 'update-server-info');

    origin = createServer((req, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers['proxy-authorization'] ?? '-'}`);
      const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/'));
      readFile(join(served, path)).then(
        (body) => res.end(body),
        () => {
          res.statusCode = 404;
          res.end('not found\n');
        },
      );
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.2', resolve));
    originUrl = `http://127.0.0.2:${(origin.address() as AddressInfo).port}`;

    const loaded = loadConfig({
      env: {},
      defaultFile: '/nonexistent/kaizen-proxy.yaml',
      flags: { listen: '127.0.0.1:0', admin: 'off', allowPrivate: ['127.0.0.2/32'] },
    });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const config = { ...loaded.config, gateway: { credentialsFile: credentials, credentials: [{ agent: 'ci-bot', sha256: digest }] } };
    proxy = await createProxy(config, { logger: createLogger({ level: 'info', destination: logs }) });
    proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
  });

  afterAll(async () => {
    await proxy.close();
    origin.closeAllConnections();
    await new Promise<void>((resolve) => {
      origin.close(() => {
        resolve();
      });
    });
    await rm(dir, { recursive: true, force: true });
  });

  const withCredentials = (token: string) => proxyUrl.replace('http://', `http://ci-bot:${encodeURIComponent(token)}@`);

  it('answers 407 with a Basic challenge when credentials are missing or wrong, and never reaches the origin', async () => {
    for (const proxyArg of [proxyUrl, withCredentials('wrong'), proxyUrl.replace('http://', 'http://nobody:x@')]) {
      const result = await curl(['-D', '-', '-o', '/dev/null', '-x', proxyArg, `${originUrl}/README`]);
      expect(result.stdout).toMatch(/^HTTP\/1\.1 407 /);
      expect(result.stdout).toMatch(/\r\nProxy-Authenticate: Basic realm="kaizen-proxy"\r\n/i);
      expect(result.stdout).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_PROXY_AUTH\r\n/i);
    }
    const tunnel = await curl(['-p', '-x', proxyUrl, `${originUrl}/README`]);
    expect(tunnel.code).not.toBe(0);
    expect(tunnel.stderr).toMatch(/407/);
    expect(seen).toEqual([]);
    // No agent was authenticated: the closed lines of the refusals name none.
    const refused = logs.lines.filter((line) => line.msg === 'closed' && line['status'] === 407);
    expect(refused.map((line) => line['kind'])).toEqual(['http', 'http', 'http', 'connect']);
    expect(refused.filter((line) => 'agent' in line)).toEqual([]);
  });

  it('names the agent from the credentials, for plain requests and CONNECT tunnels, and forwards no credential', async () => {
    const plain = await curl(['-x', withCredentials(TOKEN), `${originUrl}/repo.git/HEAD`]);
    expect(plain).toMatchObject({ code: 0, stdout: 'ref: refs/heads/main\n' });
    const tunnelled = await curl(['-p', '-x', withCredentials(TOKEN), `${originUrl}/repo.git/HEAD`]);
    expect(tunnelled).toMatchObject({ code: 0, stdout: 'ref: refs/heads/main\n' });
    const decisions = logs.lines.filter((line) => line.msg === 'decision');
    expect(decisions.map((line) => [line['kind'], line['agent']])).toEqual([
      ['http', 'ci-bot'],
      ['connect', 'ci-bot'],
    ]);
    // The closed lines name the agent too, as the decision lines do (a connection may carry several).
    for (const decided of decisions) {
      const closed = await logs.waitFor((line) => line.msg === 'closed' && line['conn'] === decided['conn'] && line['kind'] === decided['kind']);
      expect(closed).toMatchObject({ agent: 'ci-bot', status: 200 });
    }
    expect(seen.every((line) => line.endsWith(' -'))).toBe(true);
    expect(logs.text).not.toContain(TOKEN);
  });

  it('works with git, which sends credentials only after the 407', async () => {
    const before = logs.lines.length;
    const target = join(dir, 'clone');
    await run('git', ['-c', `http.proxy=${withCredentials(TOKEN)}`, 'clone', '-q', `${originUrl}/repo.git`, target], { env: { ...process.env, ...GIT_ENV } });
    expect(await readFile(join(target, 'README'), 'utf8')).toBe('through the gateway\n');
    // Only git's plain requests (a tunnel from the test before may still be logging its close).
    const lines = logs.lines.slice(before).filter((line) => line['kind'] === 'http' || line['code'] === 'KZP_ERR_PROXY_AUTH');
    // The first request went without credentials and was challenged; the rest were ci-bot's.
    expect(lines.find((line) => line.msg === 'closed')).toMatchObject({ status: 407, code: 'KZP_ERR_PROXY_AUTH' });
    const challenged = lines.findIndex((line) => line['status'] === 407);
    const decided = lines.findIndex((line) => line.msg === 'decision');
    expect(challenged).toBeLessThan(decided);
    const agents = new Set(lines.filter((line) => line.msg === 'decision').map((line) => line['agent']));
    expect([...agents]).toEqual(['ci-bot']);
  });
});
