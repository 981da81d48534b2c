import type { Socket } from 'node:net';
import type { EarlyCapture } from './early-bytes.js';

/** Bytes held past the body while the answer is awaited (as early-bytes.ts holds them); beyond, TCP backpressure. */
const HELD_LIMIT_BYTES = 64 * 1024;

/** How an Upgrade request's body is framed: which bytes of a read are the body's, and how they go on. */
export interface UpgradeBodyFraming {
  /** The whole body has gone on. */
  readonly complete: boolean;
  /**
   * Writes the body's bytes at the start of `chunk` to `upstream`, as they are to go; returns how
   * many of the chunk's bytes were the body's (the rest follows it), or why its framing is refused.
   */
  take(chunk: Buffer, upstream: Socket): number | string;
  /** Bytes taken but not yet written (the start of a trailer section), for a 101 that comes before the body's end. */
  pending(): Buffer;
}

/** An Upgrade request's body on its way to the destination (forwardUpgradeBody). */
export interface UpgradeBodyRelay extends EarlyCapture {
  /** Why the body's framing was refused (the destination connection is then destroyed), else null. */
  readonly problem: string | null;
}

/**
 * An Upgrade request with a body: the body is part of the request (RFC 9112 §6; RFC 9110 §7.8
 * switches protocols only after the request, and RFC 7540 §3.2 has the body sent whole before the
 * new protocol's bytes), so it goes to the destination now, as Go's ReverseProxy and Node's client
 * send it, not held with the bytes that follow it until a 101 that a destination reading the body
 * first never sends. node:http hands an upgrade over right after its head, the body unread:
 * `first` is what it read past the head, then what the early capture held. `framing` says where
 * the body ends (a Content-Length: lengthFraming; chunks: upgrade-chunked-body.ts).
 *
 * The body goes on as it comes (the client paused while the destination's side is full); what
 * follows it is held, as early bytes are, until the answer says what it is. As an EarlyCapture,
 * `release()` hands the held bytes over, so the caller forwards them after a 101 or drops them with
 * a refusal, as before; a 101 that comes before the whole body simply lets the rest of it through
 * the tunnel, in order.
 */
export function forwardUpgradeBody(client: Socket, upstream: Socket, first: readonly Buffer[], ended: boolean, framing: UpgradeBodyFraming): UpgradeBodyRelay {
  return new UpgradeBody(client, upstream, first, ended, framing);
}

/** A Content-Length body: its first `length` bytes, as they came. */
export function lengthFraming(length: number): UpgradeBodyFraming {
  return new LengthFraming(length);
}

class LengthFraming implements UpgradeBodyFraming {
  #left: number;

  constructor(length: number) {
    this.#left = length;
  }

  get complete(): boolean {
    return this.#left === 0;
  }

  take(chunk: Buffer, upstream: Socket): number {
    const used = Math.min(chunk.length, this.#left);
    if (used > 0) upstream.write(used === chunk.length ? chunk : chunk.subarray(0, used));
    this.#left -= used;
    return used;
  }

  pending(): Buffer {
    return Buffer.alloc(0);
  }
}

/** Listeners are methods bound to the relay, not closures (see connect-tunnel.ts). */
class UpgradeBody implements UpgradeBodyRelay {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #framing: UpgradeBodyFraming;
  readonly #held: Buffer[] = [];
  #heldBytes = 0;
  #ended: boolean;
  #released = false;
  #problem: string | null = null;
  #waitingForDrain = false;
  readonly #onData: (chunk: Buffer) => void = this.#data.bind(this);
  readonly #onEnd: () => void = this.#end.bind(this);
  readonly #onDrain: () => void = this.#drained.bind(this);

  constructor(client: Socket, upstream: Socket, first: readonly Buffer[], ended: boolean, framing: UpgradeBodyFraming) {
    this.#client = client;
    this.#upstream = upstream;
    this.#framing = framing;
    this.#ended = ended;
    for (const chunk of first) this.#take(chunk);
    if (ended) return;
    client.on('data', this.#onData);
    client.on('end', this.#onEnd);
    if (this.#room()) client.resume();
  }

  get problem(): string | null {
    return this.#problem;
  }

  release(keepFlowing = false): { readonly chunks: readonly Buffer[]; readonly ended: boolean } {
    this.#released = true;
    const client = this.#client;
    client.off('data', this.#onData);
    client.off('end', this.#onEnd);
    this.#upstream.off('drain', this.#onDrain);
    if (!keepFlowing) client.pause();
    const pending = this.#framing.pending();
    return { chunks: pending.length > 0 ? [pending, ...this.#held] : this.#held, ended: this.#ended };
  }

  #data(chunk: Buffer): void {
    this.#take(chunk);
    if (!this.#room()) this.#client.pause();
  }

  #end(): void {
    this.#ended = true;
  }

  /** Body bytes go on; what follows the body is held. */
  #take(chunk: Buffer): void {
    if (this.#problem !== null) return;
    let rest = chunk;
    if (!this.#framing.complete) {
      const used = this.#framing.take(rest, this.#upstream);
      if (typeof used === 'string') {
        this.#problem = used;
        this.#upstream.destroy();
        return;
      }
      rest = used === rest.length ? Buffer.alloc(0) : rest.subarray(used);
      if (this.#upstream.writableNeedDrain && !this.#waitingForDrain) {
        this.#waitingForDrain = true;
        this.#upstream.once('drain', this.#onDrain);
      }
    }
    if (rest.length > 0) {
      this.#held.push(rest);
      this.#heldBytes += rest.length;
    }
  }

  /** Whether the client may be read on: the destination takes the body, and little is held past it. */
  #room(): boolean {
    return this.#problem === null && !this.#upstream.writableNeedDrain && this.#heldBytes < HELD_LIMIT_BYTES;
  }

  #drained(): void {
    this.#waitingForDrain = false;
    if (!this.#released && this.#room()) this.#client.resume();
  }
}
