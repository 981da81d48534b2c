/** Lets one event through per interval (a loud error that must not flood the log); counts the rest. */
export interface RateGate {
  /** True when the event may be logged now; `suppressed` is how many were held back since the last one. */
  pass(): { readonly open: boolean; readonly suppressed: number };
}

export function createRateGate(intervalMs: number, now: () => number): RateGate {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return {
    pass() {
      const at = now();
      if (at - last < intervalMs) {
        suppressed += 1;
        return { open: false, suppressed };
      }
      last = at;
      const held = suppressed;
      suppressed = 0;
      return { open: true, suppressed: held };
    },
  };
}
