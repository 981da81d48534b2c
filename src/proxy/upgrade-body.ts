import type { Socket } from 'node:net';
import type { EarlyCapture } from './early-bytes.js';

/** Bytes held past the body while the answer is awaited (as early-bytes.ts holds them); beyond, TCP backpressure. */
const HELD_LIMIT_BYTES = 64 * 1024;

/**
 * An Upgrade request with a `Content-Length` body: the body is part of the request (RFC 9112 §6;
 * RFC 9110 §7.8 switches protocols only after the request, and RFC 7540 §3.2 has the body sent
 * whole before the new protocol's bytes), so it goes to the destination now, as Go's ReverseProxy
 * and Node's client send it, not held with the bytes that follow it until a 101 that a destination
 * reading the body first never sends. node:http hands an upgrade over right after its head, the
 * body unread: `first` is what it read past the head, then what the early capture held.
 *
 * The first `length` bytes go on as they come (the client paused while the destination's side is
 * full); what follows them is held, as early bytes are, until the answer says what it is. As an
 * EarlyCapture, `release()` hands the held bytes over, so the caller forwards them after a 101 or
 * drops them with a refusal, as before; a 101 that comes before the whole body simply lets the rest
 * of it through the tunnel, in order.
 */
export function forwardUpgradeBody(client: Socket, upstream: Socket, first: readonly Buffer[], ended: boolean, length: number): EarlyCapture {
  return new UpgradeBody(client, upstream, first, ended, length);
}

/** Listeners are methods bound to the relay, not closures (see connect-tunnel.ts). */
class UpgradeBody implements EarlyCapture {
  readonly #client: Socket;
  readonly #upstream: Socket;
  #left: number;
  readonly #held: Buffer[] = [];
  #heldBytes = 0;
  #ended: boolean;
  #released = false;
  #waitingForDrain = false;
  readonly #onData: (chunk: Buffer) => void = this.#data.bind(this);
  readonly #onEnd: () => void = this.#end.bind(this);
  readonly #onDrain: () => void = this.#drained.bind(this);

  constructor(client: Socket, upstream: Socket, first: readonly Buffer[], ended: boolean, length: number) {
    this.#client = client;
    this.#upstream = upstream;
    this.#left = length;
    this.#ended = ended;
    for (const chunk of first) this.#take(chunk);
    if (ended) return;
    client.on('data', this.#onData);
    client.on('end', this.#onEnd);
    if (this.#room()) client.resume();
  }

  release(keepFlowing = false): { readonly chunks: readonly Buffer[]; readonly ended: boolean } {
    this.#released = true;
    const client = this.#client;
    client.off('data', this.#onData);
    client.off('end', this.#onEnd);
    this.#upstream.off('drain', this.#onDrain);
    if (!keepFlowing) client.pause();
    return { chunks: this.#held, ended: this.#ended };
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
    let rest = chunk;
    if (this.#left > 0) {
      const body = rest.length <= this.#left ? rest : rest.subarray(0, this.#left);
      this.#left -= body.length;
      rest = rest.subarray(body.length);
      if (!this.#upstream.write(body) && !this.#waitingForDrain) {
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
    return !this.#upstream.writableNeedDrain && this.#heldBytes < HELD_LIMIT_BYTES;
  }

  #drained(): void {
    this.#waitingForDrain = false;
    if (!this.#released && this.#room()) this.#client.resume();
  }
}
