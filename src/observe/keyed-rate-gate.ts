/**
 * Lets one event per key through per interval (a line per destination that must not flood the log
 * when every request to it fails) and counts the rest, so the next line can say how many were held
 * back. At most `maxKeys` keys are remembered: past that the least recently seen is forgotten (its
 * held-back count with it), so a flood of distinct keys costs bounded memory.
 */
export interface KeyedRateGate {
  /** True when the event for `key` may be logged now; `suppressed` is how many were held back since its last one. */
  pass(key: string): { readonly open: boolean; readonly suppressed: number };
  /** Keys remembered (at most maxKeys). */
  readonly size: number;
}

interface KeyState {
  last: number;
  suppressed: number;
}

export function createKeyedRateGate(intervalMs: number, maxKeys: number, now: () => number): KeyedRateGate {
  // A Map keeps insertion order: re-inserting a key on each event makes the first key the least recently seen.
  const keys = new Map<string, KeyState>();
  return {
    pass(key) {
      const at = now();
      const state = keys.get(key);
      if (state !== undefined) keys.delete(key);
      const entry = state ?? { last: Number.NEGATIVE_INFINITY, suppressed: 0 };
      keys.set(key, entry);
      if (keys.size > maxKeys) {
        const oldest = keys.keys().next();
        if (oldest.done !== true) keys.delete(oldest.value);
      }
      if (at - entry.last < intervalMs) {
        entry.suppressed += 1;
        return { open: false, suppressed: entry.suppressed };
      }
      entry.last = at;
      const held = entry.suppressed;
      entry.suppressed = 0;
      return { open: true, suppressed: held };
    },
    get size() {
      return keys.size;
    },
  };
}
