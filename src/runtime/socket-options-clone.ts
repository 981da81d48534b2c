import { Socket, type SocketConstructorOpts } from 'node:net';
import { connectOptions } from '../net/dial.js';
import { v8Major } from './operator-flag.js';

/**
 * Rounds of the option objects below. V8 gives a function its feedback (its inline caches record
 * nothing before) only after its first calls (about twenty here); every round after that records
 * them all. One round left the cache polymorphic when it came mid-round, two or more never did.
 */
const ROUNDS = 8;

/** How many different option maps the copy is shown: past V8's polymorphic limit of 4. */
const MAPS = 6;

/**
 * A dial's options (src/net/dial.ts) on a prototype of their own: each has a map of its own, while
 * the copies made of them, and everything that reads those copies, look like a dial's.
 */
function dialLike(): SocketConstructorOpts {
  const options = connectOptions('', 0, undefined);
  Object.setPrototypeOf(options, {});
  return options;
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
 * each pointing at a young descriptor array, against 17 other old-to-young pointers). The bench's
 * minimal Node proxies, with fewer shapes, are in that state in every run (bench/gc.mjs bare and
 * raw: 2.6-3.0 KB promoted per tunnel).
 *
 * So, once per process on V8 11, sockets that are never connected are made from six option objects
 * of six maps, round after round (48 sockets, well under a millisecond); a megamorphic cache stays
 * so. Paired against the build before (bench/paired.mjs --mode conc, CPU per new tunnel): against
 * its processes in the costlier state 0.81x to 0.88x (four pairings, with the first version below),
 * against the others 0.98x to 1.03x (four). The option objects copy a dial's own keys on
 * prototypes of their own (dialLike) and the sockets are dropped, not destroyed: the first
 * version, six shapes of different keys and every socket destroyed, measured 1.03x to 1.07x against
 * the others. (Were V8 to drop the constructor's feedback, which it does only to code unused across
 * several full collections, the first sockets after would find it empty again; a serving proxy
 * makes a socket for every connection.) True when it did.
 */
export function settleSocketOptionsClone(): boolean {
  if (settled || !hasCloneMapFault(process.versions.v8)) return false;
  settled = true;
  const sources = Array.from({ length: MAPS }, dialLike);
  for (let round = 0; round < ROUNDS; round++) {
    // Made and dropped: a socket never connected holds nothing (destroying them cost 3-7%).
    for (const options of sources) new Socket(options);
  }
  return true;
}
