/**
 * A real Squid as the upstream (corporate) proxy, started by a test on loopback with Basic auth:
 * an htpasswd file made with `openssl passwd -apr1`, basic_ncsa_auth as the helper, a generated
 * squid.conf in a temp dir (CONNECT to any port, no cache, no ICMP helper, access log in the dir),
 * run in the foreground (-N) so it dies with the test.
 *
 *   const squid = await startSquid();            // user "kaizen", a random password
 *   squid.url                                     // http://kaizen:PASSWORD@127.0.0.1:PORT
 *   await squid.waitForLog((l) => l.method === 'CONNECT' && l.url === '127.0.0.1:443');
 *   await squid.stop();
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One line of Squid's native access log. */
export interface SquidLogLine {
  /** TCP_TUNNEL/200, TCP_MISS/200, TCP_DENIED/407, ... */
  readonly result: string;
  readonly method: string;
  /** host:port for CONNECT, the absolute URL otherwise. */
  readonly url: string;
  /** The authenticated user, "-" when none. */
  readonly user: string;
}

export interface Squid {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** With credentials: http://user:password@127.0.0.1:PORT */
  readonly url: string;
  /** Without credentials. */
  readonly bareUrl: string;
  /** The access log so far. */
  log(): SquidLogLine[];
  /** Resolves with the first line that matches (Squid writes a line when the request or tunnel ends). */
  waitForLog(predicate: (line: SquidLogLine) => boolean, timeoutMs?: number): Promise<SquidLogLine>;
  stop(): Promise<void>;
}

const HELPERS = ['/usr/lib/squid/basic_ncsa_auth', '/usr/lib64/squid/basic_ncsa_auth', '/usr/libexec/squid/basic_ncsa_auth'];

export function findSquid(): { readonly bin: string; readonly helper: string } | null {
  const bins = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'].filter((dir) => dir !== '').map((dir) => join(dir, 'squid'));
  const bin = bins.find((path) => executable(path));
  const helper = HELPERS.find((path) => executable(path));
  return bin === undefined || helper === undefined ? null : { bin, helper };
}

export async function startSquid(options: { readonly user?: string } = {}): Promise<Squid> {
  const found = findSquid();
  if (found === null) throw new Error('squid (and basic_ncsa_auth) not installed: apt-get install squid');
  const dir = mkdtempSync(join(tmpdir(), 'kzp-squid-'));
  chmodSync(dir, 0o777); // written by the effective user once Squid drops root
  const user = options.user ?? 'kaizen';
  const password = randomBytes(9).toString('base64url');
  // On stdin, not argv: a random password may start with '-' (base64url), which openssl reads as an option.
  const hash = execFileSync('openssl', ['passwd', '-apr1', '-stdin'], { input: `${password}\n`, encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'passwd'), `${user}:${hash}\n`, { mode: 0o644 });
  const port = await freePort();
  const runAs = effectiveUser();
  const conf = [
    `http_port 127.0.0.1:${port}`,
    `auth_param basic program ${found.helper} ${join(dir, 'passwd')}`,
    'auth_param basic children 1 startup=1 idle=1',
    'auth_param basic realm kaizen-test',
    'acl authed proxy_auth REQUIRED',
    'http_access deny !authed',
    'http_access allow localhost',
    'http_access deny all',
    'cache deny all',
    'cache_mem 0 MB',
    `pid_filename ${join(dir, 'squid.pid')}`,
    `cache_log ${join(dir, 'cache.log')}`,
    `access_log stdio:${join(dir, 'access.log')}`,
    'buffered_logs off',
    'strip_query_terms off',
    'cache_store_log none',
    'netdb_filename none',
    'logfile_rotate 0',
    `coredump_dir ${dir}`,
    'shutdown_lifetime 0 seconds',
    'pinger_enable off',
    'visible_hostname kaizen-test',
    ...(runAs === null ? [] : [`cache_effective_user ${runAs}`]),
    '',
  ].join('\n');
  const confPath = join(dir, 'squid.conf');
  writeFileSync(confPath, conf, { mode: 0o644 });
  const child = spawn(found.bin, ['-N', '-f', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `squid exited (${code ?? signal ?? '?'}): ${stderr.trim()} ${tail(join(dir, 'cache.log'))}`;
  });
  await waitForPort(port, () => exited);

  const logFile = join(dir, 'access.log');
  const log = (): SquidLogLine[] => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '').map(parseLine) : []);
  return {
    port,
    user,
    password,
    url: `http://${user}:${password}@127.0.0.1:${port}`,
    bareUrl: `http://127.0.0.1:${port}`,
    log,
    async waitForLog(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = log().find(predicate);
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) throw new Error(`no matching Squid log line within ${timeoutMs}ms: ${JSON.stringify(log())}`);
        await sleep(50);
      }
    },
    async stop() {
      if (exited !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** "1795885360.626 5 127.0.0.1 TCP_TUNNEL/200 633 CONNECT 127.0.0.1:38081 agent HIER_DIRECT/127.0.0.1 -" */
function parseLine(text: string): SquidLogLine {
  const fields = text.trim().split(/\s+/);
  return { result: fields[3] ?? '', method: fields[5] ?? '', url: fields[6] ?? '', user: fields[7] ?? '' };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function effectiveUser(): string | null {
  if (process.getuid?.() !== 0) return null;
  // Squid refuses to keep running as root; hand it to the packaged "proxy" user, else nobody.
  for (const user of ['proxy', 'squid', 'nobody']) {
    try {
      execFileSync('id', ['-u', user], { stdio: 'ignore' });
      return user;
    } catch {
      // try the next
    }
  }
  return null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, dead: () => string | null): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const reason = dead();
    if (reason !== null) throw new Error(reason);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error('squid did not listen within 15s');
    await sleep(50);
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-8).join('\n');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
