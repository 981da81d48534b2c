import { spawn } from 'node:child_process';
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { followChildLogLines, type ChildLogLines } from '../../helpers/child-log-lines.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { CLI, cleanEnv, tempDir } from '../reflex/cli-process.js';
import { API_KEY, spoolingConfigFile, eventually, viaProxy } from './resilience-support.js';

/**
 * The report spool holds agent names, targets, paths and verdicts. Under the usual umask 022 its
 * segments, lock and ack were created 0644 in 0755 directories: readable by every local user, while
 * the observed record beside it was 0700/0600. Now every spool directory is 0700 and every file
 * 0600, and directories an older version left 0755 are tightened when the spool opens.
 */
interface Serve {
  readonly port: number;
  readonly log: ChildLogLines;
  stop(): Promise<number | null>;
}

let cp: FakeControlPlane | null = null;
let origin: Origin | null = null;
const running: Serve[] = [];

afterEach(async () => {
  for (const serve of running.splice(0)) await serve.stop();
  await cp?.close();
  await origin?.close();
  cp = null;
  origin = null;
});

/** `kaizen-proxy serve` under umask 022, as a shell or a service manager would usually start it. */
async function serveUnderUmask022(configFile: string): Promise<Serve> {
  const child = spawn('sh', ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, CLI, 'serve', '--config', configFile], {
    env: cleanEnv({ KAIZEN_API_KEY: API_KEY }),
    cwd: tempDir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = followChildLogLines(child, 20_000);
  const listening = await log.waitFor((line) => line['msg'] === 'listening');
  const serve: Serve = {
    port: Number(String(listening['proxy']).split(':').pop()),
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return log.exited;
    },
  };
  running.push(serve);
  return serve;
}

/** Every entry under `root` (itself included, as "."): "dir 755", "file 644"... */
async function modesUnder(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of ['.', ...(await readdir(root, { recursive: true }))]) {
    const mode = await lstat(join(root, entry)).then(
      (stats) => `${stats.isDirectory() ? 'dir' : 'file'} ${(stats.mode & 0o777).toString(8)}`,
      () => null, // removed meanwhile (a temporary file renamed over the ack, a retired segment)
    );
    if (mode !== null) out[entry] = mode;
  }
  return out;
}

/** The same entries, each directory 0700 and each file 0600; the spool root, a partition and a slot among the directories. */
function privateModes(modes: Record<string, string>): Record<string, string> {
  expect(Object.values(modes).filter((mode) => mode.startsWith('dir'))).toHaveLength(3);
  return Object.fromEntries(Object.entries(modes).map(([entry, mode]) => [entry, mode.startsWith('dir') ? 'dir 700' : 'file 600']));
}

const named = (modes: Record<string, string>, pattern: RegExp): string[] => Object.keys(modes).filter((entry) => pattern.test(entry));

async function setUp(): Promise<{ configFile: string; dataDir: string; url: string }> {
  cp = await startFakeControlPlane();
  origin = await startOrigin();
  // The control plane is down: every action is spooled.
  cp.respondWith(reply.status(500));
  const dataDir = join(tempDir(), 'data');
  const configFile = spoolingConfigFile(cp.url, dataDir, ['listen: 127.0.0.1:0']);
  return { configFile, dataDir, url: `${origin.url}/private/path` };
}

describe('report spool permissions under umask 022', () => {
  it('creates every spool directory 0700 and every file 0600: segments, lock, ack', async () => {
    const { configFile, dataDir, url } = await setUp();
    const serve = await serveUnderUmask022(configFile);
    expect((await viaProxy(serve.port, url)).status).toBe(503);
    const spool = join(dataDir, 'spool');
    await eventually(async () => named(await modesUnder(spool), /seg-\d+\.kzs$/).length > 0, 10_000, 'a spooled segment');

    const whileDown = await modesUnder(spool);
    expect(named(whileDown, /(^|\/)lock$/)).toHaveLength(1);
    expect(whileDown).toEqual(privateModes(whileDown));
    // data_dir did not exist: the proxy made it, private too.
    expect(((await lstat(dataDir)).mode & 0o777).toString(8)).toBe('700');

    // The control plane is back: the entry is replayed, acknowledged, and the ack cursor written.
    cp?.respondWith(reply.recorded());
    await eventually(async () => named(await modesUnder(spool), /(^|\/)ack$/).length > 0, 20_000, 'the ack cursor');
    const afterAck = await modesUnder(spool);
    expect(afterAck).toEqual(privateModes(afterAck));
    expect(await serve.stop()).toBe(0);
  });

  it('tightens the 0755 directories an older version made, when the spool opens', async () => {
    const { configFile, dataDir, url } = await setUp();
    const first = await serveUnderUmask022(configFile);
    expect((await viaProxy(first.port, url)).status).toBe(503);
    const spool = join(dataDir, 'spool');
    await eventually(async () => named(await modesUnder(spool), /seg-\d+\.kzs$/).length > 0, 10_000, 'a spooled segment');
    // Stopped with an entry still waiting: the spool's directories stay for the next start.
    expect(await first.stop()).toBe(0);

    // What an older version left: directories 0755, files 0644.
    const left = await modesUnder(spool);
    for (const [entry, mode] of Object.entries(left)) await chmod(join(spool, entry), mode.startsWith('dir') ? 0o755 : 0o644);
    const directories = Object.keys(left).filter((entry) => left[entry]?.startsWith('dir') === true);
    expect(directories).toHaveLength(3);

    const second = await serveUnderUmask022(configFile);
    const reopened = await modesUnder(spool);
    for (const entry of directories) expect({ entry, mode: reopened[entry] }).toEqual({ entry, mode: 'dir 700' });
    expect(second.log.lines).toContainEqual(expect.objectContaining({ msg: expect.stringContaining('spool directory was open to other users') as unknown }));
    expect(await second.stop()).toBe(0);
  });
});
