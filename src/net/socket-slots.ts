import type { Socket } from 'node:net';

/**
 * The fields kaizen-proxy keeps on a net.Socket, added to every socket as it is born (accepted or
 * dialled), always in one order, so that every plain TCP socket of ours has one hidden class.
 *
 * V8 gives an object a new hidden class (map) for each property added to it, and code optimised
 * for sockets of one map deoptimises when it meets another. Before these slots a tunnel's client
 * socket gained the connection context and then its relay state, the socket dialled for it only
 * the relay state, a plain-HTTP client socket only the context and an origin socket `timeout`
 * (set by socket.setTimeout): four maps through every stream function of Node's, and CONNECT
 * tunnels after plain-HTTP traffic deoptimised and recompiled Socket, Duplex and the streams'
 * functions (bench/profile.mjs connrate --first latency,http with --trace-deopt). With one map, CPU
 * per new tunnel (bench/paired.mjs --mode conc, 8 rounds): 0.975x on Node 24; with 10,000 HTTP
 * requests before each round 0.944x (Node 24) and 0.949x (Node 20); HTTP requests 1.000x.
 */
export const CONNECTION_SLOT = Symbol('kaizen-proxy.connection');
/** The relay state of relay-reads.ts. */
export const READS_SLOT = Symbol('kaizen-proxy.relayReads');

interface Slotted {
  /** null once slotted (until a connection context is stored): undefined only on a socket without slots. */
  [CONNECTION_SLOT]?: unknown;
  [READS_SLOT]?: unknown;
  timeout?: number | undefined;
  _peername?: unknown;
}

/**
 * Two fields of Node's own that net.Socket adds later, to some sockets only, each left undefined
 * until then: `timeout` (by socket.setTimeout: origin connections) and `_peername` (the first read
 * of remoteAddress or remotePort: client sockets where per-client limits are kept). Both read as
 * unset while undefined.
 */
const NODE_LATE_FIELDS = ['timeout', '_peername'] as const;

/**
 * Adds the slots, empty (the connection slot null, the others undefined), to a socket that has
 * none yet: call it before anything else is stored on the socket or read from its address.
 */
export function giveSlots(socket: Socket): void {
  const slotted = socket as unknown as Slotted;
  // A read, not Object.hasOwn: called four times per tunnel, mostly on sockets slotted already.
  if (slotted[CONNECTION_SLOT] !== undefined) return;
  slotted[CONNECTION_SLOT] = null;
  slotted[READS_SLOT] = undefined;
  for (const field of NODE_LATE_FIELDS) if (!Object.hasOwn(slotted, field)) slotted[field] = undefined;
}
