import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_LOOPBACK, runWrapper } from '../wrap/run-wrapper.js';
import { startWrapOrigin, type WrapOrigin } from '../wrap/wrap-origin.js';

/** `kaizen-proxy --learn -- curl ...`: monitor mode, and the command's manifest written at exit. */
describe('wrap mode --learn', () => {
  let dir: string;
  let origin: WrapOrigin;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-learn-'));
    origin = await startWrapOrigin();
  });

  afterAll(async () => {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes kaizen-manifest.json in the working directory; a policy block only warns (monitor) and is noted', async () => {
    const config = join(dir, 'blocklist.yaml');
    await writeFile(config, `policies:\n  - { mode: blocklist, rules: { ips: ["${origin.target.split(':')[0] ?? ''}"] } }\n`);
    const run = await runWrapper(['--learn', '--config', config, ...OPEN_LOOPBACK, '--', 'curl', '-sS', '-f', `${origin.url}/hello`], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('hello from origin\n');
    const manifest = JSON.parse(await readFile(join(dir, 'kaizen-manifest.json'), 'utf8')) as unknown;
    expect(manifest).toEqual({ tools: [], destinations: [origin.target] });
    expect(run.stderr).toContain(`kaizen-proxy: manifest of "curl" (1 destinations, 0 tools) written to kaizen-manifest.json`);
    expect(run.stderr).toContain(`kept, but enforce mode would block them: ${origin.target}`);
    // A one-off command keeps no record under data_dir.
    expect(existsSync(join(dir, '.kaizen-proxy', 'observed'))).toBe(false);
  });

  it('--manifest-out names the file; the agent is the command name unless --agent says otherwise', async () => {
    const out = join(dir, 'out', 'm.json');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'out')));
    const run = await runWrapper(['--learn', '--manifest-out', out, '--agent', 'my-agent', ...OPEN_LOOPBACK, '--', 'curl', '-sS', '-o', '/dev/null', `${origin.url}/hello`, `${origin.url}/again`], { cwd: dir });
    expect(run.code).toBe(0);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual({ tools: [], destinations: [origin.target] });
    expect(run.stderr).toContain(`manifest of "my-agent" (1 destinations, 0 tools) written to ${out}`);
  });
});
