import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Two network namespaces made for one test, joined by a veth pair: `agent` (the agent side, where
 * the redirect rules, the proxy and the clients run) and `world` (the destinations, on TEST-NET-3
 * addresses that exist only inside these namespaces). Names resolve through /etc/netns/<agent>/hosts,
 * which `ip netns exec` mounts over /etc/hosts. Nothing leaves the machine.
 */
export interface NetnsWorld {
  readonly agent: string;
  readonly world: string;
  /** `ip netns exec <ns> ...argv` */
  exec(ns: string, argv: readonly string[], options?: { readonly timeoutMs?: number; readonly env?: NodeJS.ProcessEnv }): Promise<{ stdout: string; stderr: string; code: number }>;
  spawn(ns: string, argv: readonly string[], options?: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv }): ChildProcess;
  remove(): Promise<void>;
}

export const AGENT_ADDRESS = '203.0.113.1';
export const WORLD_ADDRESSES = ['203.0.113.2', '203.0.113.3'] as const;

export async function createNetnsWorld(tag: string, hosts: Readonly<Record<string, string>>): Promise<NetnsWorld> {
  const agent = `kzp-${tag}-a`;
  const world = `kzp-${tag}-w`;
  const ip = (...args: string[]): Promise<unknown> => run('ip', args);
  const etc = join('/etc/netns', agent);
  const remove = async (): Promise<void> => {
    await run('ip', ['netns', 'del', agent]).catch(() => undefined);
    await run('ip', ['netns', 'del', world]).catch(() => undefined);
    rmSync(etc, { recursive: true, force: true });
  };
  await remove();
  await ip('netns', 'add', agent);
  await ip('netns', 'add', world);
  await ip('link', 'add', `${tag}-va`, 'netns', agent, 'type', 'veth', 'peer', 'name', `${tag}-vw`, 'netns', world);
  await ip('-n', agent, 'addr', 'add', `${AGENT_ADDRESS}/24`, 'dev', `${tag}-va`);
  for (const address of WORLD_ADDRESSES) await ip('-n', world, 'addr', 'add', `${address}/24`, 'dev', `${tag}-vw`);
  for (const ns of [agent, world]) await ip('-n', ns, 'link', 'set', 'lo', 'up');
  await ip('-n', agent, 'link', 'set', `${tag}-va`, 'up');
  await ip('-n', world, 'link', 'set', `${tag}-vw`, 'up');
  mkdirSync(etc, { recursive: true });
  const lines = Object.entries(hosts).map(([name, address]) => `${address} ${name}`);
  writeFileSync(join(etc, 'hosts'), `127.0.0.1 localhost\n::1 localhost\n${lines.join('\n')}\n`);

  return {
    agent,
    world,
    async exec(ns, argv, options = {}) {
      try {
        const { stdout, stderr } = await run('ip', ['netns', 'exec', ns, ...argv], { timeout: options.timeoutMs ?? 20_000, env: options.env ?? process.env });
        return { stdout, stderr, code: 0 };
      } catch (error) {
        const failed = error as { stdout?: string; stderr?: string; code?: number };
        return { stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', code: typeof failed.code === 'number' ? failed.code : -1 };
      }
    },
    spawn(ns, argv, options = {}) {
      return spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    remove,
  };
}

/** Whether this machine can run the namespace test: root, ip, iptables with a usable nat table, setpriv, curl. */
export async function netnsSupport(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const tool of ['ip', 'iptables', 'ip6tables', 'setpriv', 'curl', 'openssl']) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `needs ${tool}`;
    }
  }
  return null;
}

/** argv run as `uid` (user and group, no supplementary groups), as the agent or the proxy would be. */
export function asUid(uid: string, argv: readonly string[]): string[] {
  return ['setpriv', '--reuid', uid, '--regid', uid, '--clear-groups', ...argv];
}

/**
 * The UID to run the proxy as: 1337 (the rules' default) when that UID can read the built CLI and
 * node, else (a checkout only root can read) root. Either way a UID other than the agent's, and
 * the one the rules must exempt.
 */
export async function proxyUidIn(world: NetnsWorld, cli: string): Promise<string> {
  const readable = await world.exec(world.agent, asUid('1337', [process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(cli)})`]));
  return readable.code === 0 ? '1337' : '0';
}
