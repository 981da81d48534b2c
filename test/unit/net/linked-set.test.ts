import { describe, expect, it } from 'vitest';
import { LinkedSet } from '../../../src/net/linked-set.js';

interface Member {
  readonly name: string;
}

const member = (name: string): Member => ({ name });
const names = (set: LinkedSet<Member>): string[] => {
  const seen: string[] = [];
  set.forEach((m) => seen.push(m.name));
  return seen;
};

describe('LinkedSet', () => {
  it('keeps members in insertion order and counts them', () => {
    const set = new LinkedSet<Member>();
    expect(set.size).toBe(0);
    expect(set.first()).toBeUndefined();
    expect(names(set)).toEqual([]);
    set.add(member('a'));
    const b = set.add(member('b'));
    set.add(member('c'));
    expect(set.size).toBe(3);
    expect(set.first()?.name).toBe('a');
    expect(names(set)).toEqual(['a', 'b', 'c']);
    expect(set.delete(b)).toBe(true);
    expect(names(set)).toEqual(['a', 'c']);
    expect(set.size).toBe(2);
  });

  it('deletes a member once: the entry lets go of it and of its neighbours', () => {
    const set = new LinkedSet<Member>();
    const a = set.add(member('a'));
    set.add(member('b'));
    expect(a.linked).toBe(true);
    expect(set.delete(a)).toBe(true);
    expect(a.linked).toBe(false);
    expect(a.value).toBeUndefined();
    expect(a.prev).toBeNull();
    expect(a.next).toBeNull();
    expect(set.delete(a)).toBe(false);
    expect(set.size).toBe(1);
    expect(set.first()?.name).toBe('b');
  });

  it('empties and fills again', () => {
    const set = new LinkedSet<Member>();
    for (let round = 0; round < 3; round++) {
      const entries = ['x', 'y', 'z'].map((name) => set.add(member(name)));
      expect(names(set)).toEqual(['x', 'y', 'z']);
      for (const entry of entries.reverse()) set.delete(entry);
      expect(set.size).toBe(0);
      expect(set.first()).toBeUndefined();
    }
  });

  it('visits the members present when it starts, skipping those deleted meanwhile', () => {
    const set = new LinkedSet<Member>();
    const [a, b, , d] = ['a', 'b', 'c', 'd'].map((name) => set.add(member(name)));
    if (a === undefined || b === undefined || d === undefined) throw new Error('four entries');
    const seen: string[] = [];
    set.forEach((m) => {
      seen.push(m.name);
      if (m.name === 'a') {
        // The current member, the next one and a later one go; a new one comes.
        set.delete(a);
        set.delete(b);
        set.delete(d);
        set.add(member('e'));
      }
    });
    expect(seen).toEqual(['a', 'c']);
    expect(names(set)).toEqual(['c', 'e']);
  });

  it('takes the same value twice as two members', () => {
    const set = new LinkedSet<Member>();
    const shared = member('s');
    const first = set.add(shared);
    set.add(shared);
    expect(set.size).toBe(2);
    set.delete(first);
    expect(names(set)).toEqual(['s']);
  });
});
