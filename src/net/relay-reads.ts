import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { giveSlots, READS_SLOT } from './socket-slots.js';

/**
 * Reads for a socket we dial (net.connect's `onread`), and for a tunnel's client socket once
 * adopted (adoptReads below), so both directions of a tunnel are relayed without a fresh 64 KiB
 * Buffer per read and with reads larger than libuv's 64 KiB:
 *
 * - Stream mode (until `relayReads`): every read is copied out and pushed, so the socket is an
 *   ordinary Readable for whoever reads it first (an upstream proxy's CONNECT answer, a
 *   server-speaks-first banner, `unshift`).
 * - Relay mode: each read is written straight from the read buffer to the sink. When the sink
 *   could not take it all at once, the sink still points into that memory, so the buffer is
 *   handed over and another taken for the next read; otherwise it is reused. The one handed over
 *   before is that other buffer once the sink has finished every write but the latest (see
 *   nextBuffer), so a bulk transfer alternates between two buffers instead of taking a new one
 *   per read.
 *
 * The buffer starts small and doubles, up to MAX_READ, each time a read fills it; SHRINK_AFTER
 * reads in a row that each use less than an eighth of a large buffer shrink it again. Measured
 * with bench/profile.mjs down (1 GiB through a bare node:net tunnel): 64 KiB stream reads 1.86 s
 * CPU, reused 64 KiB 1.38 s, 256 KiB 1.15 s, 1 MiB 0.70 s (Squid 1.15 s).
 *
 * Each buffer of its own is memory outside V8's heap, which V8 frees with full collections. With
 * the two buffers and SHRINK_AFTER, kaizen-proxy relays 1 GiB with 1-3 full collections in the
 * whole process against 7-10, for 0.53-0.62 s of CPU up and 0.50-0.56 s down against 0.79-0.84
 * and 0.76-0.84 (`bench/profile.mjs up|down --first latency --node-arg --trace-gc`, Node 24,
 * three runs each).
 *
 * The first buffer is a MIN_READ slice of a shared slab (see firstBuffer): each buffer of its own
 * is memory outside V8's heap that V8 counts toward its next full collection, and a 16 KiB one per
 * tunnel cost 3 extra full collections per 5,500 new tunnels (bench/profile.mjs connrate, counted
 * with a `gc` PerformanceObserver). Slices never overlap, so a slice lent to a sink is as safe as a
 * buffer of its own.
 */
export const MIN_READ = 2 * 1024;
export const MAX_READ = 1024 * 1024;
/**
 * Small reads in a row that shrink a large buffer. A bulk transfer has single small reads among its
 * full ones (the first read after the sink drained, say): when one alone shrank the buffer, a 1 GiB
 * upload shrank it 16-31 times and grew it back through every size each time (148-282 new buffers,
 * counted in a patched build), about 60 MiB outside V8's heap, freed by full collections.
 */
export const SHRINK_AFTER = 4;
/** Tunnels' first read buffers are carved from slabs this large (32 slices each). */
const SLAB_BYTES = 64 * 1024;

interface ReadState {
  socket: Socket | null;
  sink: Socket | null;
  buffer: Buffer;
  /** The sink still holds the buffer's memory: the next read needs another one. */
  lent: boolean;
  /** How many bytes of the buffer the sink was given when it was lent. */
  lentBytes: number;
  /**
   * The buffer lent before the current one, to be read into again once the sink is done with it.
   * Held weakly: a tunnel that goes quiet after a bulk transfer keeps one large buffer, not two.
   */
  spare: WeakRef<Buffer> | null;
  /** Reads in a row that used less than an eighth of the (large) buffer. */
  smallReads: number;
  resumeOnDrain: () => void;
}

/**
 * Each relayable socket's ReadState, on the socket itself (socket-slots.ts): a WeakMap from sockets
 * to their states cost about 2% of the CPU of a new tunnel (bench/paired.mjs --mode conc, 20 rounds:
 * 0.971x against an A/A pairing's 0.987x; V8 records each young key of an old WeakMap for the next
 * scavenge).
 */
type WithState = Socket & { [READS_SLOT]?: ReadState };

function stateOf(socket: Socket): ReadState | undefined {
  return (socket as WithState)[READS_SLOT];
}

function setState(socket: Socket, state: ReadState): void {
  giveSlots(socket);
  (socket as WithState)[READS_SLOT] = state;
}

/**
 * The `onread` option for net.connect, and a bind to call with the socket it returned. Its
 * functions are module functions bound to the state, not closures per socket (see
 * src/proxy/connect-tunnel.ts on why).
 */
export function relayableReads(): RelayableReads {
  return new RelayableReads();
}

class RelayableReads {
  readonly #state: ReadState = { socket: null, sink: null, buffer: firstBuffer(), lent: false, lentBytes: 0, spare: null, smallReads: 0, resumeOnDrain: noop };
  readonly onread: OnReadOpts = { buffer: nextBuffer.bind(null, this.#state), callback: onRead.bind(null, this.#state) };

  bind(socket: Socket): void {
    const state = this.#state;
    state.socket = socket;
    state.resumeOnDrain = socket.resume.bind(socket);
    setState(socket, state);
  }
}

/**
 * The same reads for a socket we did not dial (the client of a CONNECT, accepted by node:http),
 * which cannot be given `onread`: its handle is switched to a read buffer of ours with the calls
 * net.Socket makes for `onread` itself (`useUserBuffer`, and the three symbol-keyed fields its
 * read callback consults, found by name on a socket made with `onread`). Without it every 64 KiB
 * read of a tunnel's upload is a fresh Buffer outside V8's heap, and once a proxy has served a
 * while (always on Node 24) V8 frees them with full collections: `bench/profile.mjs up --first
 * http` spent 1.0-1.9 s of user CPU per GiB against 0.3-0.4 s on a fresh process, 18-31 full
 * collections against 2. Returns false, changing nothing, where the runtime lacks any of these
 * (the caller pipes instead) or the socket is not plain TCP. Call relayReads next, in the same turn.
 */
export function adoptReads(socket: Socket): boolean {
  const keys = onreadKeys();
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (keys === null || socket.constructor !== Socket || stateOf(socket) !== undefined || socket.destroyed) return false;
  if (handle === undefined || handle === null || typeof handle.useUserBuffer !== 'function') return false;
  const state: ReadState = { socket, sink: null, buffer: firstBuffer(), lent: false, lentBytes: 0, spare: null, smallReads: 0, resumeOnDrain: socket.resume.bind(socket) };
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[keys.buffer] = state.buffer;
  fields[keys.generator] = nextBuffer.bind(null, state);
  fields[keys.callback] = onRead.bind(null, state);
  (handle.useUserBuffer as (buffer: Uint8Array) => void).call(handle, state.buffer);
  setState(socket, state);
  return true;
}

interface OnreadKeys {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

let onreadKeysFound: OnreadKeys | null | undefined;

/** net.Socket's kBuffer, kBufferCb and kBufferGen, read off a handle-less socket made with `onread`. */
function onreadKeys(): OnreadKeys | null {
  if (onreadKeysFound !== undefined) return onreadKeysFound;
  // net.Socket's constructor takes `onread` as net.connect does (@types/node lists it for connect only).
  const options: SocketConstructorOpts & { readonly onread: OnReadOpts } = { onread: { buffer: () => Buffer.alloc(1), callback: () => true } };
  const probe = new Socket(options);
  const named = new Map(Object.getOwnPropertySymbols(probe).map((key) => [key.description, key]));
  probe.destroy();
  const buffer = named.get('kBuffer');
  const callback = named.get('kBufferCb');
  const generator = named.get('kBufferGen');
  onreadKeysFound = buffer === undefined || callback === undefined || generator === undefined ? null : { buffer, callback, generator };
  return onreadKeysFound;
}

/**
 * From now on `source`'s reads are written to `sink` directly (what `source.pipe(sink)` does,
 * end included). Bytes already buffered in `source` go first. Returns false (and does nothing)
 * when `source` was not dialled with relayable reads: the caller pipes instead.
 */
export function relayReads(source: Socket, sink: Socket): boolean {
  const state = stateOf(source);
  if (state === undefined || state.sink !== null) return false;
  for (let chunk = source.read() as Buffer | null; chunk !== null; chunk = source.read() as Buffer | null) sink.write(chunk);
  state.sink = sink;
  if (source.readableEnded) {
    endSink(sink);
    return true;
  }
  // 'end' comes once: `on`, without the wrapper and the removal `once` costs.
  source.on('end', endSink.bind(null, sink));
  // Flowing, so 'end' is emitted; nothing is pushed in relay mode, so no 'data' follows.
  source.resume();
  return true;
}

/**
 * The source's FIN, carried to the sink. When the sink's own FIN came in earlier (this is the
 * second direction to end) and every write to it has reached the kernel, the sink is closed rather
 * than shut down: close() sends what the kernel still holds and then the FIN, as shutdown() would,
 * and nothing more can arrive to be reset, since the peer has finished sending. One system call
 * fewer and none of the stream's end machinery: 0.969x CPU per new tunnel (bench/paired.mjs --mode
 * conc, Node 24, 8 rounds). Squid, which never shuts a side down, closes it the same way.
 */
function endSink(sink: Socket): void {
  if (sink.readableEnded && sink.writableLength === 0) sink.destroy();
  else sink.end();
}

function onRead(state: ReadState, nread: number, buffer: Uint8Array): boolean {
  const socket = state.socket;
  if (socket === null) return true;
  const sink = state.sink;
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, nread);
  if (sink === null) return socket.push(Buffer.from(bytes));
  const taken = sink.write(bytes);
  if (sink.writableLength > 0 || sink.destroyed) {
    state.lent = true;
    state.lentBytes = nread;
  }
  if (!taken) {
    socket.pause();
    sink.once('drain', state.resumeOnDrain);
  }
  grow(state, nread);
  return true;
}

function grow(state: ReadState, nread: number): void {
  const size = state.buffer.length;
  if (nread === size && size < MAX_READ) {
    state.buffer = Buffer.allocUnsafe(size * 2);
    state.lent = false;
    state.smallReads = 0;
  } else if (size > MIN_READ && nread < size / 8) {
    if (++state.smallReads < SHRINK_AFTER) return;
    state.buffer = firstBuffer();
    state.lent = false;
    state.smallReads = 0;
  } else {
    state.smallReads = 0;
  }
}

/**
 * The buffer for the next read. A lent buffer is kept as the spare, and the spare lent before it is
 * read into again when the sink has finished every write but this latest one: a socket's writes
 * complete in order, and writableLength counts each unfinished write whole until it completes, so
 * a writableLength no larger than the latest write means only that write is unfinished. Otherwise
 * (or when the sizes differ, or a full collection took the spare) a new buffer, as every lent read
 * took before.
 */
function nextBuffer(state: ReadState): Buffer {
  if (!state.lent) return state.buffer;
  const lent = state.buffer;
  const spare = state.spare?.deref();
  const sink = state.sink;
  if (spare !== undefined && spare.length === lent.length && sink !== null && !sink.destroyed && sink.writableLength <= state.lentBytes) {
    state.buffer = spare;
  } else {
    state.buffer = lent.length === MIN_READ ? firstBuffer() : Buffer.allocUnsafe(lent.length);
  }
  state.spare = new WeakRef(lent);
  state.lent = false;
  return state.buffer;
}

let slab = Buffer.allocUnsafe(SLAB_BYTES);
let slabUsed = 0;

/**
 * A MIN_READ buffer no other tunnel will ever be handed: the next unused slice of the current slab,
 * a new slab once it is used up (the old one lives on while any of its slices does).
 */
function firstBuffer(): Buffer {
  if (slabUsed + MIN_READ > SLAB_BYTES) {
    slab = Buffer.allocUnsafe(SLAB_BYTES);
    slabUsed = 0;
  }
  const slice = slab.subarray(slabUsed, slabUsed + MIN_READ);
  slabUsed += MIN_READ;
  return slice;
}

function noop(): void {
  // Replaced by bind().
}
