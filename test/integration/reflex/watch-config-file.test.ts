import { mkdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConfigFile, type ConfigWatcher } from '../../../src/config/watch-config-file.js';
import { tempDir } from './cli-process.js';

let watcher: ConfigWatcher | undefined;
afterEach(() => {
  watcher?.close();
});

function changes(file: string): { count: () => number; next: () => Promise<void> } {
  let count = 0;
  let wake: (() => void) | null = null;
  watcher = watchConfigFile(file, () => {
    count += 1;
    wake?.();
  }, 50);
  return {
    count: () => count,
    next: () =>
      new Promise((resolve, reject) => {
        // A bound for the event, not a wait: generous, as CI runs every suite at once on two cores.
        const timer = setTimeout(() => { reject(new Error('no change seen')); }, 15_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 300));

describe('watchConfigFile', () => {
  it('sees a Kubernetes ConfigMap update (the ..data symlink swapped), once', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '..2026_01'));
    writeFileSync(join(dir, '..2026_01', 'kaizen-proxy.yaml'), 'mode: enforce\n');
    symlinkSync('..2026_01', join(dir, '..data'));
    symlinkSync('..data/kaizen-proxy.yaml', join(dir, 'kaizen-proxy.yaml'));
    const seen = changes(join(dir, 'kaizen-proxy.yaml'));

    mkdirSync(join(dir, '..2026_02'));
    writeFileSync(join(dir, '..2026_02', 'kaizen-proxy.yaml'), 'mode: monitor\n');
    symlinkSync('..2026_02', join(dir, '..data_tmp'));
    const next = seen.next();
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await next;
    await settle();
    expect(seen.count()).toBe(1);
  });

  it('ignores a touch and other files; sees in-place writes and renames over the file', async () => {
    const dir = tempDir();
    const file = join(dir, 'kaizen-proxy.yaml');
    writeFileSync(file, 'a: 1\n');
    const seen = changes(file);
    utimesSync(file, new Date(), new Date());
    writeFileSync(join(dir, 'other.yaml'), 'x');
    await settle();
    expect(seen.count()).toBe(0);

    let next = seen.next();
    writeFileSync(file, 'a: 2\n');
    await next;
    next = seen.next();
    writeFileSync(join(dir, 'kaizen-proxy.yaml.new'), 'a: 3\n');
    renameSync(join(dir, 'kaizen-proxy.yaml.new'), file);
    await next;
    next = seen.next();
    writeFileSync(file, 'a: 4\n'); // the new inode is watched too
    await next;
    expect(seen.count()).toBe(3);
  });

  it('does not report content a reload of another trigger already read (reading), and sees the next change', async () => {
    const dir = tempDir();
    const file = join(dir, 'kaizen-proxy.yaml');
    writeFileSync(file, 'a: 1\n');
    const seen = changes(file);
    writeFileSync(file, 'a: 2\n');
    watcher?.reading(); // SIGHUP reads the edit before the watcher's debounce ends
    await settle();
    expect(seen.count()).toBe(0);

    const next = seen.next();
    writeFileSync(file, 'a: 3\n');
    await next;
    expect(seen.count()).toBe(1);
  });
});
