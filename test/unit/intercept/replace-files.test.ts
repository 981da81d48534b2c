import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceFiles } from '../../../src/intercept/replace-files.js';

describe('replaceFiles (a CA key and certificate written together)', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'kzp-replace-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('renames new files over the old ones, each with exactly its own mode', async () => {
    const dir = join(root, 'replaced');
    await mkdir(dir);
    await writeFile(join(dir, 'key'), 'old key', { mode: 0o644 });
    const before = await stat(join(dir, 'key'));
    await replaceFiles([
      { path: join(dir, 'key'), data: 'new key', mode: 0o600 },
      { path: join(dir, 'cert'), data: 'new cert', mode: 0o644 },
    ]);
    const after = await stat(join(dir, 'key'));
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'cert'))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(dir, 'key'), 'utf8')).toBe('new key');
    expect((await readdir(dir)).sort()).toEqual(['cert', 'key']);
  });

  it('removes its temporary files when a rename fails, and puts back the files it had already renamed', async () => {
    const dir = join(root, 'failing');
    // A non-empty directory where the second file goes: renaming a file over it fails (EISDIR).
    await mkdir(join(dir, 'cert', 'occupied'), { recursive: true });
    await writeFile(join(dir, 'key'), 'old key', { mode: 0o640 });
    await expect(
      replaceFiles([
        { path: join(dir, 'key'), data: 'new key', mode: 0o600 },
        // No file of this name before: put back means removed.
        { path: join(dir, 'absent-before'), data: 'new file', mode: 0o600 },
        { path: join(dir, 'cert'), data: 'new cert', mode: 0o644 },
      ]),
    ).rejects.toThrow();
    expect(await readFile(join(dir, 'key'), 'utf8')).toBe('old key');
    expect((await stat(join(dir, 'key'))).mode & 0o777).toBe(0o640);
    expect((await readdir(dir)).sort()).toEqual(['cert', 'key']);
  });

  it('removes the temporary files an earlier, interrupted replacement of the same files left behind', async () => {
    const dir = join(root, 'interrupted');
    await mkdir(dir);
    await writeFile(join(dir, '.key.0123456789ab.tmp'), 'a key never renamed', { mode: 0o600 });
    await writeFile(join(dir, '.cert.ba9876543210.tmp'), 'a cert never renamed');
    await writeFile(join(dir, '.other.0123456789ab.tmp'), 'not ours');
    await replaceFiles([
      { path: join(dir, 'key'), data: 'new key', mode: 0o600 },
      { path: join(dir, 'cert'), data: 'new cert', mode: 0o644 },
    ]);
    expect((await readdir(dir)).sort()).toEqual(['.other.0123456789ab.tmp', 'cert', 'key']);
  });
});
