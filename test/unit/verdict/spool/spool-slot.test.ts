import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireSlot, claimAbandoned, partitionDir } from '../../../../src/verdict/spool/spool-slot.js';

const root = (): string => mkdtempSync(join(tmpdir(), 'kzp-slot-'));

describe('spool slots', () => {
  it('partitions by control plane and key, never showing the key', () => {
    const a = partitionDir('/d', 'https://api.getkaizen.io', 'kz_live_secret');
    expect(a).toMatch(/^\/d\/spool\/[0-9a-f]{16}$/);
    expect(a).not.toContain('secret');
    expect(partitionDir('/d', 'https://api.getkaizen.io', 'kz_live_other')).not.toBe(a);
    expect(partitionDir('/d', 'http://127.0.0.1:1', 'kz_live_secret')).not.toBe(a);
  });

  it('gives two proxies of one process two slots, and a released slot to the next', async () => {
    const partition = join(root(), 'p');
    const first = await acquireSlot(partition);
    const second = await acquireSlot(partition);
    expect(first.dir).not.toBe(second.dir);
    expect(await claimAbandoned(partition, second.dir)).toEqual([]);
    await first.release();
    const third = await acquireSlot(partition);
    expect(third.dir).toBe(first.dir);
    await second.release();
    await third.release();
  });

  it('takes over a slot whose owner is dead, or whose pid now belongs to another process', async () => {
    const partition = join(root(), 'p');
    const dead = await acquireSlot(partition);
    await dead.release();
    // A pid that cannot exist, then our own pid with a token this process never issued (a restarted container).
    for (const holder of ['2147483646 - gone', `${process.pid} 1 not-ours`]) {
      writeFileSync(join(dead.dir, 'lock'), `${holder}\n`);
      const taken = await acquireSlot(partition);
      expect(taken.dir).toBe(dead.dir);
      await taken.release();
      expect(existsSync(join(dead.dir, 'lock'))).toBe(false);
    }
  });

  it('claims abandoned slots but not live ones', async () => {
    const partition = join(root(), 'p');
    const own = await acquireSlot(partition);
    const live = await acquireSlot(partition);
    const gone = await acquireSlot(partition);
    await gone.release();
    writeFileSync(join(gone.dir, 'lock'), '2147483646 - gone\n');
    const claimed = await claimAbandoned(partition, own.dir);
    expect(claimed.map((lock) => lock.dir)).toEqual([gone.dir]);
    for (const lock of [own, live, ...claimed]) await lock.release();
  });
});
