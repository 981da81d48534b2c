// Squid, started by the bench on loopback with a minimal configuration of its own: forward
// proxy only, no cache, CONNECT allowed to any port (the stock config only allows 443), logs and
// pid file in a temp dir, in the foreground (-N) so it is our child and dies with us.
import { spawn, execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort, sleep } from './wait.mjs';

export function findSquid() {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'squid'), constants.X_OK);
      return join(dir, 'squid');
    } catch {
      // next
    }
  }
  return null;
}

export function squidVersion(bin) {
  try {
    return /Version (\S+)/.exec(execFileSync(bin, ['-v'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

function effectiveUser() {
  if (process.getuid() !== 0) return null;
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

export async function startSquid(bin, { maxFds }) {
  const dir = mkdtempSync(join(tmpdir(), 'kaizen-bench-squid-'));
  chmodSync(dir, 0o777); // written by the effective user after Squid drops root
  const port = await freePort();
  const user = effectiveUser();
  const conf = [
    `http_port 127.0.0.1:${port}`,
    'http_access allow localhost',
    'http_access deny all',
    'cache deny all',
    'cache_mem 0 MB',
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log`, // one line per request/tunnel, like kaizen's decision log
    'cache_store_log none',
    'netdb_filename none',
    'logfile_rotate 0',
    `coredump_dir ${dir}`,
    `max_filedescriptors ${maxFds}`,
    'shutdown_lifetime 0 seconds',
    'pinger_enable off', // no ICMP helper process: one Squid process to measure
    'visible_hostname kaizen-bench',
    ...(user ? [`cache_effective_user ${user}`] : []),
    '',
  ].join('\n');
  const confPath = join(dir, 'squid.conf');
  writeFileSync(confPath, conf);
  const child = spawn(bin, ['-N', '-f', confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let exited = null;
  child.once('exit', (code, signal) => { exited = `squid exited (${code ?? signal}): ${stderr.trim()} ${readTail(join(dir, 'cache.log'))}`; });
  await waitForPort('127.0.0.1', port, { isDead: () => exited });
  return {
    name: 'squid',
    pid: child.pid,
    via: { host: '127.0.0.1', port },
    dir,
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(3000)]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}

function readTail(path) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-8).join('\n');
  } catch {
    return '';
  }
}
