import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_LOOPBACK, readSummary, runWrapper } from './run-wrapper.js';
import { startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

const run = promisify(execFile);

/** git's own settings for these tests: no user or system config, no prompts. */
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' } as const;

/**
 * A repository published over "dumb" HTTP (`git update-server-info` + static files), cloned by a
 * wrapped `git clone`: git reads http_proxy (lower case) through libcurl.
 */
describe('wrap mode with git', () => {
  let dir: string;
  let origin: WrapOrigin;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-git-'));
    const work = join(dir, 'work');
    const bare = join(dir, 'served', 'repo.git');
    const git = (cwd: string, ...args: string[]) => run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], { cwd, env: { ...process.env, ...GIT_ENV } });
    await git(dir, 'init', '-q', '-b', 'main', work);
    await writeFile(join(work, 'README'), 'served through kaizen-proxy\n');
    await git(work, 'add', 'README');
    await git(work, 'commit', '-q', '-m', 'first');
    await git(dir, 'clone', '-q', '--bare', work, bare);
    await git(bare, 'update-server-info');
    origin = await startWrapOrigin({ root: join(dir, 'served') });
  });

  afterAll(async () => {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('clones a repository served over HTTP through the proxy', async () => {
    const summary = join(dir, 'summary.json');
    const target = join(dir, 'clone');
    const result = await runWrapper([...OPEN_LOOPBACK, '--summary-json', summary, '--', 'git', 'clone', '-q', `${origin.url}/repo.git`, target], { env: GIT_ENV });
    expect(result.code).toBe(0);
    expect(await readFile(join(target, 'README'), 'utf8')).toBe('served through kaizen-proxy\n');
    expect(origin.requests).toContain('GET /repo.git/info/refs?service=git-upload-pack');
    const rows = (await readSummary(summary)).destinations;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'http', target: origin.target, decision: 'allow' });
    expect(rows[0]?.count).toBe(origin.requests.length);
  });
});
