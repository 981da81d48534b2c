import { describe, expect, it } from 'vitest';
import { ClientRate } from '../../../src/proxy/client-rate.js';

function harness(perSecond: number, burst: number, maxClients = 100) {
  let clock = 5_000;
  const rate = new ClientRate({ perSecond, burst, maxClients, now: () => clock });
  return {
    rate,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('client rate', () => {
  it('lets a burst through, then names the wait in whole seconds', () => {
    const h = harness(2, 3);
    expect([h.rate.take('a'), h.rate.take('a'), h.rate.take('a')]).toEqual([null, null, null]);
    expect(h.rate.take('a')).toBe(1);
    expect(h.rate.take('a')).toBe(1);
  });

  it('gives tokens back at the rate, never beyond the burst', () => {
    const h = harness(2, 3);
    for (let i = 0; i < 3; i++) h.rate.take('a');
    h.advance(499);
    expect(h.rate.take('a')).toBe(1);
    h.advance(1);
    expect(h.rate.take('a')).toBeNull();
    expect(h.rate.take('a')).toBe(1);
    h.advance(60_000);
    expect([h.rate.take('a'), h.rate.take('a'), h.rate.take('a'), h.rate.take('a')]).toEqual([null, null, null, 1]);
  });

  it('asks a client under one action per second to wait longer than a second', () => {
    const h = harness(0.25, 1);
    expect(h.rate.take('a')).toBeNull();
    expect(h.rate.take('a')).toBe(4);
    h.advance(3_000);
    expect(h.rate.take('a')).toBe(1);
  });

  it('without a burst, holds as many tokens as the rate, rounded up, and at least one', () => {
    const h = harness(2.5, 0);
    expect([h.rate.take('a'), h.rate.take('a'), h.rate.take('a'), h.rate.take('a')]).toEqual([null, null, null, 1]);
    const slow = harness(0.1, 0);
    expect([slow.rate.take('a'), slow.rate.take('a')]).toEqual([null, 10]);
  });

  it('keeps every client to its own bucket', () => {
    const h = harness(1, 1);
    expect(h.rate.take('a')).toBeNull();
    expect(h.rate.take('a')).toBe(1);
    expect(h.rate.take('b')).toBeNull();
  });

  it('forgets the least recently seen client past maxClients (it starts again full)', () => {
    const h = harness(1, 1, 2);
    h.rate.take('a');
    h.rate.take('b');
    h.rate.take('c');
    expect(h.rate.take('b')).toBe(1);
    expect(h.rate.take('a')).toBeNull();
  });

  it('forget() drops one client\'s bucket (it starts again full) and keeps the others', () => {
    const h = harness(1, 1);
    for (const client of ['a', 'b']) {
      expect(h.rate.take(client)).toBeNull();
      expect(h.rate.take(client)).toBe(1);
    }
    h.rate.forget('a');
    h.rate.forget('never-seen');
    expect(h.rate.take('a')).toBeNull();
    expect(h.rate.take('a')).toBe(1);
    expect(h.rate.take('b')).toBe(1);
  });
});
