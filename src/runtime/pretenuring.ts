import { setFlagsFromString } from 'node:v8';
import { operatorChose, v8Major } from './operator-flag.js';

const FLAG = 'allocation-site-pretenuring';

/**
 * V8 allocates an object literal straight into the old generation ("pretenures" it) once most
 * objects from that literal outlived a young-generation collection. A proxy's first scavenges come
 * while its young generation is still small (it starts at 1 MiB and grows to 16), so the objects of
 * the tunnels open at that moment all survive them: V8 then tenured a tunnel's own objects (the
 * relay state, the dial attempt, net.Socket's Duplex and ReadableState; seen with
 * `--trace-pretenuring-statistics --trace-deopt`) for good. A tenured object that dies still holds
 * its young fields through every scavenge until the next full collection, which kept the survival
 * rate high enough to keep those literals tenured. `node bench/gc.mjs` (20,000 new tunnels at 50
 * concurrent): on Node 20, 7.8 KB of each tunnel promoted before, 6.2 KB with this flag alone,
 * 3.0 KB with it and linked-set.ts (the bare node:http proxy: 2.9 KB), scavenges 12.9 µs of main
 * thread per tunnel before and 4.6 after; on Node 24, 3.9 KB before and none after. Paired CPU per
 * new tunnel with both (bench/paired.mjs --mode conc, 12 rounds): 0.95x on Node 20, 0.88x on 24.
 *
 * The flag to set, or null: on a V8 outside the versions known to have it (11 to 14: Node 20 to
 * 25), or when the operator chose either way.
 */
export function pretenuringFlag(v8Version: string, execArgv: readonly string[], nodeOptions: string): string | null {
  const major = v8Major(v8Version);
  if (!(major >= 11 && major <= 14) || operatorChose(FLAG, execArgv, nodeOptions)) return null;
  return `--no-${FLAG}`;
}

/** Turns pretenuring off for this process (never for the commands it runs); true when it did. */
export function stopPretenuring(): boolean {
  const flag = pretenuringFlag(process.versions.v8, process.execArgv, process.env.NODE_OPTIONS ?? '');
  if (flag === null) return false;
  setFlagsFromString(flag);
  return true;
}
