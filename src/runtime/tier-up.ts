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

/**
 * The V8 flag to set, or null: on a V8 outside the versions known to have the flag (an unknown
 * flag is reported on stdout, where the JSON log lines go), or when the operator already chose a
 * value (`node --invocation-count-for-turbofan=N` or `--interrupt-budget=N`, in the arguments or
 * NODE_OPTIONS).
 */
export function tierUpFlag(v8Version: string, execArgv: readonly string[], nodeOptions: string): string | null {
  const major = v8Major(v8Version);
  const chosen = (flag: string): boolean => operatorChose(flag, execArgv, nodeOptions);
  if (major === 11) return chosen(BUDGET_FLAG) ? null : `--${BUDGET_FLAG}=${String(V8_11_INTERRUPT_BUDGET)}`;
  if (!(major >= 12 && major <= 14) || chosen(COUNT_FLAG)) return null;
  return `--${COUNT_FLAG}=${String(TURBOFAN_INVOCATIONS)}`;
}

/** Sets the flag for this process (never for the commands it runs); true when it did. */
export function tierUpSooner(): boolean {
  const flag = tierUpFlag(process.versions.v8, process.execArgv, process.env.NODE_OPTIONS ?? '');
  if (flag === null) return false;
  setFlagsFromString(flag);
  return true;
}
