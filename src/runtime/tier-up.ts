import { setFlagsFromString } from 'node:v8';
import { operatorChose, v8Major } from './operator-flag.js';

/**
 * Calls before V8 compiles a function with TurboFan, where V8 counts that way (12 to 14: Node 22
 * to 25; its default is 3,000). A tunnel's setup runs each of its functions about once, so with the
 * default a proxy serves some 10,000 tunnels on Maglev code before its latency settles, and a
 * sidecar beside one agent may never serve that many. Measured on Node 24 with
 * `node bench/paired.mjs dist/cli.js <this at 600> --mode seq` (new tunnel + 1-byte echo p50):
 * 0.92-0.94x from the first 800 tunnels to about 8,000, 0.97-0.98x after 12,000; 300 and 1,200
 * measured the same as 600.
 */
export const TURBOFAN_INVOCATIONS = 600;

/**
 * Node 20's V8 (11.x) counts bytecode executed instead: a third of its default budget (67,584).
 * Measured the same way on Node 20: 0.971x p50 after warm-up (a quarter and an eighth: 0.976x, 0.975x).
 */
export const V8_11_INTERRUPT_BUDGET = 22_528;

const COUNT_FLAG = 'invocation-count-for-turbofan';
const BUDGET_FLAG = 'interrupt-budget';
/** Matches --sparkplug, --no-sparkplug and --always-sparkplug: any choice of the operator's. */
const SPARKPLUG_FLAG = 'sparkplug';

/**
 * The V8 flags to set: none on a V8 outside the versions known to have them (an unknown flag is
 * reported on stdout, where the JSON log lines go), and none the operator already chose
 * (`node --invocation-count-for-turbofan=N`, `--interrupt-budget=N`, `--[no-]sparkplug` or
 * `--always-sparkplug`, in the arguments or NODE_OPTIONS).
 *
 * On V8 11 also `--always-sparkplug`: every function gets baseline machine code when it is first
 * compiled instead of running in the interpreter until it is warm. A tunnel runs most of its code,
 * Node's net and streams included, a handful of times, and on Node 20 much of it never left the
 * interpreter. `node bench/paired.mjs <without> <with it> --mode conc` on Node 20: CPU per new
 * tunnel 0.83x, 0.81x and 0.85x in three pairings (a fourth read 1.01x), 0.85x the other way
 * round; seq 0.92x CPU and p50; with Sparkplug but the default budget, 1.30x worse than both.
 * Start-up is 50 ms slower and idle RSS 7 MB larger. It only reaches the functions
 * compiled after it is set, hence cli.ts loads everything else after this module. On V8 13 (Node 24),
 * with Maglev between the tiers, it measured 1.006x: not set there.
 */
export function tierUpFlags(v8Version: string, execArgv: readonly string[], nodeOptions: string): string[] {
  const major = v8Major(v8Version);
  const chosen = (flag: string): boolean => operatorChose(flag, execArgv, nodeOptions);
  if (major === 11) {
    const flags: string[] = [];
    if (!chosen(BUDGET_FLAG)) flags.push(`--${BUDGET_FLAG}=${String(V8_11_INTERRUPT_BUDGET)}`);
    if (!chosen(SPARKPLUG_FLAG)) flags.push('--always-sparkplug');
    return flags;
  }
  if (!(major >= 12 && major <= 14) || chosen(COUNT_FLAG)) return [];
  return [`--${COUNT_FLAG}=${String(TURBOFAN_INVOCATIONS)}`];
}

/** Sets the flags for this process (never for the commands it runs); how many it set. */
export function tierUpSooner(): number {
  const flags = tierUpFlags(process.versions.v8, process.execArgv, process.env.NODE_OPTIONS ?? '');
  for (const flag of flags) setFlagsFromString(flag);
  return flags.length;
}
