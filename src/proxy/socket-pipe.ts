import type { Socket } from 'node:net';
import { batchedPipe } from '../net/batched-pipe.js';
import type { IdleWatch } from '../net/idle-sweep.js';
import type { LinkedEntry } from '../net/linked-set.js';
import { adoptReads, relayReads } from '../net/relay-reads.js';
import { resetSocket } from '../net/reset-socket.js';
import type { Lifecycle, SplicedTunnel } from './lifecycle.js';
import { UploadFlush } from './upload-flush.js';

/**
 * Join two connected sockets into a tunnel: bytes both ways with backpressure, each direction
 * relayed from a read buffer by relay-reads.ts where it can be (else batched-pipe.ts up, a stream
 * pipe down),
 * half-close carried across (a FIN on one side ends the other's writing, the opposite direction
 * keeps flowing), the idle timeout (`idle`, watching both sockets: see idle-sweep.ts) closing both,
 * and an abrupt close destroying both. A side's error (a reset from its peer, ECONNRESET) resets
 * the other side (reset-socket.ts), as Envoy's tcp_proxy carries a reset: closed with a FIN, the
 * other peer would take a stream cut short for a complete one. `onClosed` runs once, after both
 * sockets have closed, told whether a graceful close cut the tunnel (`cut`: its deadline, or wrap
 * mode's stop once the upload was quiet, with a reset both ways). The tunnel is known to
 * `lifecycle` until then, for a graceful close (SplicedTunnel), whose cut at its deadline resets
 * both sides.
 */
export function spliceSockets(client: Socket, upstream: Socket, idle: IdleWatch, lifecycle: Lifecycle, onClosed: (cut: boolean) => void): void {
  const splice = new Splice(client, upstream, idle, lifecycle, onClosed);
  idle.onIdle = splice.destroyBoth;
  splice.wire(client, upstream);
  splice.wire(upstream, client);
  // The upload direction, relayed from a read buffer of ours where the runtime allows (the client
  // socket is node:http's), else bulk reads batched into fewer writes.
  if (!(adoptReads(client) && relayReads(client, upstream))) batchedPipe(client, upstream);
  // The download direction, straight from the read buffer when the upstream was dialled relayable.
  if (!relayReads(upstream, client)) upstream.pipe(client);
}

/** One splice's close bookkeeping: listeners are methods bound to it (see connect-tunnel.ts). */
class Splice implements SplicedTunnel {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #idle: IdleWatch;
  readonly #lifecycle: Lifecycle;
  readonly #entry: LinkedEntry<SplicedTunnel>;
  readonly #onClosed: (cut: boolean) => void;
  #open = 2;
  /** A graceful close cut the tunnel (cut()). */
  #cut = false;
  /** Set when a drain lets the upload finish (finishUpload). */
  #flush: UploadFlush | null = null;
  /**
   * The idle timeout's close (no argument: a FIN both ways, nothing being in flight) and either
   * side's 'error' listener (the error: a reset). One bound method for both: a second bind per
   * tunnel would cost the connections/s path.
   */
  readonly destroyBoth: (error?: Error) => void = this.#destroyBoth.bind(this);

  constructor(client: Socket, upstream: Socket, idle: IdleWatch, lifecycle: Lifecycle, onClosed: (cut: boolean) => void) {
    this.#client = client;
    this.#upstream = upstream;
    this.#idle = idle;
    this.#lifecycle = lifecycle;
    this.#onClosed = onClosed;
    this.#entry = lifecycle.spliced(this);
  }

  finishUpload(onCut: () => void): void {
    if (this.#flush !== null || this.#open === 0) return;
    this.#flush = new UploadFlush(this.#client, this.#upstream, () => {
      onCut();
      // A download still coming (a process the command left behind reading it) is cut short: a
      // FIN would end it as if complete. A tunnel done both ways closes cleanly.
      if (this.#upstream.readableEnded) this.#destroyBoth();
      else this.cut();
    });
    this.#flush.start();
  }

  /**
   * The drain is over: a reset both ways, so neither peer takes a cut stream for a whole one.
   * Unless each side has ended by itself (both FINs in and carried across, every byte handed to
   * the kernel) or is gone: the tunnel closed by itself, its 'close' events still to come; a
   * reset would only discard what the kernel still holds of it.
   */
  cut(): boolean {
    if (sideDone(this.#client) && sideDone(this.#upstream)) return false;
    this.#cut = true;
    resetSocket(this.#client);
    resetSocket(this.#upstream);
    return true;
  }

  wire(self: Socket, other: Socket): void {
    self.on('error', this.destroyBoth);
    if (self.closed) {
      // Gone between dial and splice: no 'close' will come, settle it now.
      if (self.errored === null) other.destroy();
      else resetSocket(other);
      this.#closedOne();
      return;
    }
    self.on('close', this.#sideClosed.bind(this, other));
  }

  #destroyBoth(error?: Error): void {
    if (error === undefined) {
      this.#client.destroy();
      this.#upstream.destroy();
      return;
    }
    // A side's error: that side is destroyed already (or going), the other is reset.
    resetSocket(this.#client);
    resetSocket(this.#upstream);
  }

  #sideClosed(other: Socket, hadError: boolean): void {
    // A side closed by an error (a reset from its peer) resets the other; one that went away
    // without ending its stream otherwise (destroyed, timed out) takes the other with it; one that
    // closed after a clean FIN exchange leaves the other to finish.
    if (hadError) resetSocket(other);
    else if (!other.writableEnded) other.destroy();
    this.#closedOne();
  }

  #closedOne(): void {
    if (--this.#open > 0) return;
    this.#idle.stop();
    this.#flush?.stop();
    this.#onClosed(this.#cut);
    this.#lifecycle.unspliced(this.#entry);
  }
}

/** A tunnel's side with nothing left to relay: gone, or its peer's FIN read and ours sent after every byte. */
function sideDone(socket: Socket): boolean {
  return socket.destroyed || (socket.readableEnded && socket.writableEnded && socket.writableLength === 0);
}
