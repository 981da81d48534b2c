import { setFlagsFromString } from 'node:v8';

/**
 * Calls before V8 compiles a function with TurboFan, where V8 counts that way (12 to 14: Node 22
 * to 25; its default is 3,000). A tunnel's setup runs each of its functions about once, so with the
 * default a proxy serves some 10,000 tunnels on Maglev code before its latency settles, and a
 * sidecar beside one agent may never serve that many. Measured on Node 24 with
 * `node bench/paired.mjs dist/cli.js <this at 600> --mode seq` (new tunnel + 1-byte echo p50):
 * 0.92-0.94x from the first 800 tunnels to about 8,000, 0.97-0.98x after 12,000; 300 and 1,200
 * measured the same as 600. Node 20's V8 (11.3) counts in bytecode budgets instead, where a smaller
 * budget gained 2% (not set there).
 */
export const TURBOFAN_INVOCATIONS = 600;

const FLAG = 'invocation-count-for-turbofan';

/**
 * The V8 flag to set, or null: on a V8 outside the versions known to have the flag (an unknown
 * flag is reported on stdout, where the JSON log lines go), or when the operator already chose a
 * value (`node --invocation-count-for-turbofan=N`, in the arguments or NODE_OPTIONS).
 */
export function tierUpFlag(v8Version: string, execArgv: readonly string[], nodeOptions: string): string | null {
  const major = Number.parseInt(v8Version, 10);
  if (!(major >= 12 && major <= 14)) return null;
  if (execArgv.some((arg) => arg.includes(FLAG)) || nodeOptions.includes(FLAG)) return null;
  return `--${FLAG}=${String(TURBOFAN_INVOCATIONS)}`;
}

/** Sets the flag for this process (never for the commands it runs); true when it did. */
export function tierUpSooner(): boolean {
  const flag = tierUpFlag(process.versions.v8, process.execArgv, process.env.NODE_OPTIONS ?? '');
  if (flag === null) return false;
  setFlagsFromString(flag);
  return true;
}
