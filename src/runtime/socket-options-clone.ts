import { Socket, type SocketConstructorOpts } from 'node:net';
import { v8Major } from './operator-flag.js';

/**
 * Rounds of the shapes below. V8 gives a function its feedback (its inline caches record nothing
 * before) only after its first calls (about twenty here); every round after that records all six.
 * One round left the cache polymorphic when it came mid-round, two or more never did.
 */
const ROUNDS = 8;

/**
 * Option shapes past V8's polymorphic limit (4 maps per inline cache): options net.Socket takes,
 * harmless on a socket that is never connected, each with its own first key. (Shapes that extend
 * one another do not count twice: V8 replaces a map in a polymorphic cache with a map it transitions
 * to.)
 */
const SHAPES: readonly ProbeOptions[] = [
  { readable: false },
  { writable: false },
  { noDelay: true },
  { keepAlive: false },
  { keepAliveInitialDelay: 0 },
  { highWaterMark: 16 * 1024 },
];

/** net.Socket's constructor reads these too (its typings list them under connect's options). */
interface ProbeOptions extends SocketConstructorOpts {
  readonly noDelay?: boolean;
  readonly keepAlive?: boolean;
  readonly keepAliveInitialDelay?: number;
  readonly highWaterMark?: number;
}

let settled = false;

/** Whether this V8 has the fault settleSocketOptionsClone works around (Node 20's 11.x; not 24's). */
export function hasCloneMapFault(v8Version: string): boolean {
  return v8Major(v8Version) === 11;
}

/**
 * net.Socket's constructor copies its options (`{ ...options }`) and then adds `emitClose`,
 * `autoDestroy` and `decodeStrings` to the copy. On Node 20's V8 (11.3), while the inline cache of
 * that copy is monomorphic or polymorphic, every property added to a copy makes a new hidden class
 * (a Map and its descriptors, allocated in the old generation): three per socket, six per tunnel,
 * about 0.5 µs each, and then every cache that reads the options misses. A megamorphic copy takes
 * V8's generic path, whose copies share their hidden classes. Measured with a spread followed by
 * two added properties, 100,000 calls: monomorphic 1,139 ns and a new map every call, megamorphic
 * 99 ns and none; Node 24 57 ns and none in either state.
 *
 * Which state a process ends in was chance: the cache records only the option shapes it meets after
 * its first calls, and a proxy's sockets come in a few (accepted, dialled, the read-buffer probe's;
 * the control plane's and standard output's where there are such). In about a third of Node 20
 * processes it stayed polymorphic: about 20% more CPU per new tunnel, 3 KB of each tunnel promoted
 * and kept to the next full collection (a core file of such a process held 3,540 of these maps,
 * each pointing at a young descriptor array, against 17 other old-to-young pointers). Node's own
 * minimal proxies meet only two shapes and are always in that state (bench/gc.mjs bare: 2.6-2.9 KB
 * promoted per tunnel).
 *
 * So, once per process on V8 11, sockets that are never connected are made with six other shapes,
 * round after round, and destroyed (48 of them, well under a millisecond); a megamorphic cache
 * stays so. (Were V8 to drop the constructor's feedback, which it does only to code unused across
 * several full collections, the first sockets after would find it empty again; a serving proxy
 * makes a socket for every connection.) True when it did.
 */
export function settleSocketOptionsClone(): boolean {
  if (settled || !hasCloneMapFault(process.versions.v8)) return false;
  settled = true;
  for (let round = 0; round < ROUNDS; round++) {
    for (const shape of SHAPES) new Socket(shape).destroy();
  }
  return true;
}
