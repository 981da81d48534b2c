import type { Socket } from 'node:net';
import { MAX_CLIENT_HELLO_BYTES, mayPrecedeClientHello, parseClientHello } from '../net/client-hello.js';
import type { IdleWatch } from '../net/idle-sweep.js';

/** How a tunnel's first client bytes begin, judged before any of them is forwarded. */
export type FirstFlight =
  /** A complete ClientHello; `sni` undefined when it names no server. */
  | { readonly kind: 'tls'; readonly sni: string | undefined; readonly chunks: readonly Buffer[]; readonly ended: boolean }
  /** Not TLS from the client (another protocol, or the server spoke first): nothing to check. */
  | { readonly kind: 'other'; readonly chunks: readonly Buffer[]; readonly ended: boolean }
  /** Starts like TLS but no ClientHello could be read (malformed, too large, cut short, too slow). */
  | { readonly kind: 'unreadable'; readonly reason: string }
  /** Either side went away first. */
  | { readonly kind: 'gone' };

/** Raw bytes held at most: the ClientHello cap plus room for record headers. */
const MAX_HELD_BYTES = 2 * MAX_CLIENT_HELLO_BYTES;
/** A ClientHello comes in one to a few segments; a trickle of tiny ones is refused, not re-parsed forever. */
const MAX_HELD_CHUNKS = 256;

/**
 * Holds the client → upstream direction of a fresh tunnel until its first bytes are judged: a TLS
 * ClientHello is read whole (across as many TCP segments as it takes, bounded) so its SNI can be
 * decided before a single byte reaches the destination. A server that speaks first (SSH, SMTP)
 * ends the wait: such a tunnel does not start with the client's TLS. So does a server's FIN before
 * any client byte (one that accepts and closes at once): the splice carries it to the client at
 * once, and the client's direction stays open (half-close). `initial` holds bytes that
 * arrived with or after the CONNECT. `idle` watches both sockets: a wait that reads nothing for the
 * idle timeout ends (MAX_HELD_CHUNKS bounds a trickle).
 *
 * `onFlight` runs once, in the turn the flight is judged (inside this call when `initial` already
 * decides it), with the gate's listeners gone and the sockets as they were: it splices them in that
 * turn or pauses both. No promise and no pause/resume of either socket between the last byte
 * judged and the splice (bench/paired.mjs --mode conc, Node 24, 16 and 20 rounds: 0.963x and 0.942x
 * CPU per tunnel against a gate that paused both sockets and resolved a promise; p50 unchanged).
 */
export function readFirstFlight(
  client: Socket,
  upstream: Socket,
  initial: { readonly chunks: readonly Buffer[]; readonly ended: boolean },
  idle: IdleWatch,
  onFlight: (flight: FirstFlight) => void,
): void {
  new FirstFlightGate(client, upstream, initial, idle, onFlight).start();
}

/** The wait for one tunnel's first flight: listeners are methods bound to it (see connect-tunnel.ts). */
class FirstFlightGate {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #idle: IdleWatch;
  readonly #onFlight: (flight: FirstFlight) => void;
  readonly #chunks: Buffer[];
  #held: number;
  #ended: boolean;
  readonly #onClientData: (chunk: Buffer) => void = this.#clientData.bind(this);
  readonly #onClientEnd: () => void = this.#clientEnd.bind(this);
  /**
   * The upstream's 'data' and its 'end' both: one bound function, not a second one per tunnel. The
   * 'end' listener is one on/off more per tunnel (net.Socket has its own 'end' listener, so also a
   * two-entry listener array while the gate waits); not benchmarked.
   */
  readonly #onUpstream: (chunk?: Buffer) => void = this.#upstreamActivity.bind(this);
  readonly #onGone: () => void = this.#gone.bind(this);

  constructor(
    client: Socket,
    upstream: Socket,
    initial: { readonly chunks: readonly Buffer[]; readonly ended: boolean },
    idle: IdleWatch,
    onFlight: (flight: FirstFlight) => void,
  ) {
    this.#client = client;
    this.#upstream = upstream;
    this.#idle = idle;
    this.#onFlight = onFlight;
    const chunks: Buffer[] = [];
    let held = 0;
    for (const chunk of initial.chunks) {
      if (chunk.length === 0) continue;
      chunks.push(chunk);
      held += chunk.length;
    }
    this.#chunks = chunks;
    this.#held = held;
    this.#ended = initial.ended;
  }

  start(): void {
    const now = this.#judge();
    if (now !== null) {
      this.#onFlight(now);
      return;
    }
    const client = this.#client;
    const upstream = this.#upstream;
    if (client.destroyed || upstream.destroyed) {
      this.#onFlight({ kind: 'gone' });
      return;
    }
    this.#idle.onIdle = this.#idled.bind(this);
    client.on('data', this.#onClientData);
    client.on('end', this.#onClientEnd);
    client.on('close', this.#onGone);
    upstream.on('data', this.#onUpstream);
    upstream.on('end', this.#onUpstream);
    upstream.on('close', this.#onGone);
    client.resume();
    upstream.resume();
  }

  #judge(): FirstFlight | null {
    const chunks = this.#chunks;
    const held = this.#held;
    const ended = this.#ended;
    if (held === 0) return ended ? { kind: 'other', chunks, ended } : null;
    // A warning alert first is TLS too: a server drops it and reads the ClientHello behind it.
    if (!mayPrecedeClientHello(chunks[0]?.[0] ?? 0)) return { kind: 'other', chunks, ended };
    const hello = parseClientHello(Buffer.concat(chunks, held));
    if (hello.complete) return hello.ok ? { kind: 'tls', sni: hello.sni, chunks, ended } : { kind: 'unreadable', reason: hello.reason };
    if (ended) return { kind: 'unreadable', reason: 'ClientHello cut short' };
    if (held > MAX_HELD_BYTES || chunks.length > MAX_HELD_CHUNKS) return { kind: 'unreadable', reason: 'ClientHello too large or too fragmented' };
    return null;
  }

  #clientData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#held += chunk.length;
    const flight = this.#judge();
    if (flight !== null) this.#finish(flight);
  }

  #clientEnd(): void {
    this.#ended = true;
    this.#finish(this.#judge() ?? { kind: 'other', chunks: this.#chunks, ended: true });
  }

  #gone(): void {
    this.#finish({ kind: 'gone' });
  }

  #idled(): void {
    this.#finish(this.#held === 0 ? { kind: 'gone' } : { kind: 'unreadable', reason: 'ClientHello too slow' });
  }

  /** A read from the server (its bytes, or its FIN when `chunk` is undefined) before the client's flight. */
  #upstreamActivity(chunk?: Buffer): void {
    if (chunk === undefined) {
      // The server's FIN. Dialled with allowHalfOpen, the socket emits 'end' but no 'close': unheard,
      // the client learnt of it only when it spoke or at the idle timeout (which destroyed both
      // sides). With no client byte held the wait ends, and the splice carries the FIN of a socket
      // already readableEnded (relayReads and pipe both do). With part of a ClientHello held, the
      // rest is still waited for and judged first; the splice carries the FIN then.
      if (this.#held === 0) this.#finish({ kind: 'other', chunks: this.#chunks, ended: this.#ended });
      return;
    }
    // The server spoke first: hand its bytes back for the splice, and stop judging.
    this.#upstream.pause();
    this.#upstream.unshift(chunk);
    if (this.#held > 0) this.#finish(this.#judge() ?? { kind: 'unreadable', reason: 'ClientHello interleaved with server data' });
    else this.#finish({ kind: 'other', chunks: this.#chunks, ended: this.#ended });
  }

  #finish(flight: FirstFlight): void {
    this.#idle.onIdle = nothing;
    const client = this.#client;
    const upstream = this.#upstream;
    client.off('data', this.#onClientData);
    client.off('end', this.#onClientEnd);
    client.off('close', this.#onGone);
    upstream.off('data', this.#onUpstream);
    upstream.off('end', this.#onUpstream);
    upstream.off('close', this.#onGone);
    this.#onFlight(flight);
  }
}

function nothing(): void {
  // The wait is over; the splice sets what idle means next.
}
