import type { Socket } from 'node:net';
import type { Target } from '../contract/target.js';
import type { DialResult } from '../net/dial.js';
import type { DialReceiver } from '../net/connector.js';
import type { IdleWatch } from '../net/idle-sweep.js';
import { closePair } from '../net/reset-socket.js';
import type { ConnectionContext } from './connection-registry.js';
import { reportClosed } from './exchange-events.js';
import type { ExchangeTally, InterceptSkip } from './exchange-log.js';
import { judgeFlight, likelyKind } from './intercept-flight.js';
import type { ProxyContext } from './proxy-context.js';
import { failureCode, markTunnelCut } from './shutdown-cut.js';
import { spliceSockets } from './socket-pipe.js';

/** The intercepted tunnel whose interception is skipped: its CONNECT was decided and answered 200. */
export interface PassthroughSetup {
  readonly proxy: ProxyContext;
  readonly conn: ConnectionContext;
  readonly client: Socket;
  readonly target: Target;
  /** The addresses the CONNECT's decision checked. */
  readonly addresses: readonly string[];
  readonly tally: ExchangeTally;
  /**
   * Called instead, with the client's bytes, when a client that was silent speaks TLS or HTTP
   * before the destination says anything: the dialled socket is dropped unread and the tunnel is
   * intercepted after all.
   */
  readonly intercept: (bytes: Buffer, kind: 'tls' | 'http') => void;
}

/**
 * An intercepted CONNECT that carries neither TLS nor HTTP becomes the ordinary tunnel its verdict
 * allowed: intercept.hosts names hosts, not ports, and SSH or SMTP to another port of such a host
 * must work. The destination is dialled now (the 200 already went, so a failed dial is a close,
 * with its code on the closed line) and spliced; the closed line carries `intercept_skipped`.
 *
 * `held`: the client's bytes, already judged another protocol (`not_tls_or_http`), go first. null:
 * the client said nothing within the wait (a server that speaks first, `server_first`); whichever
 * side speaks first then decides. The destination's bytes (or FIN) mean a splice; the client's are
 * judged, and TLS or HTTP is handed back to `setup.intercept` (a slow TLS client is intercepted, not
 * let through unseen). Never throws.
 */
export function passThrough(setup: PassthroughSetup, held: { readonly chunks: readonly Buffer[]; readonly ended: boolean } | null): void {
  const receiver = new Passthrough(setup, held);
  try {
    setup.proxy.connector.openThen(setup.target, setup.addresses, { connectTimeoutMs: setup.proxy.connectTimeoutMs, owner: setup.client, relayable: true }, receiver);
  } catch (error) {
    receiver.dialFailed(error);
  }
}

/** One passthrough, from the dial to the splice: listeners are methods bound to it (see connect-tunnel.ts). */
class Passthrough implements DialReceiver {
  readonly #setup: PassthroughSetup;
  readonly #held: { readonly chunks: readonly Buffer[]; readonly ended: boolean } | null;
  readonly #chunks: Buffer[] = [];
  #upstream: Socket | null = null;
  #idle: IdleWatch | null = null;
  #done = false;
  readonly #onClientData: (chunk: Buffer) => void = this.#clientData.bind(this);
  readonly #onClientEnd: () => void = this.#clientEnd.bind(this);
  readonly #onUpstreamData: (chunk: Buffer) => void = this.#upstreamData.bind(this);
  readonly #onUpstreamEnd: () => void = this.#upstreamEnd.bind(this);
  readonly #onGone: () => void = this.#gone.bind(this);

  constructor(setup: PassthroughSetup, held: { readonly chunks: readonly Buffer[]; readonly ended: boolean } | null) {
    this.#setup = setup;
    this.#held = held;
  }

  dialed(dialed: DialResult): void {
    try {
      this.#dialed(dialed);
    } catch (error) {
      this.dialFailed(error);
    }
  }

  dialFailed(error: unknown): void {
    const { conn, client, target } = this.#setup;
    conn.log.error({ err: error instanceof Error ? error.name : 'unknown', target: target.authority }, 'tunnel failed');
    client.destroy();
    this.#upstream?.destroy();
    this.#end();
  }

  #dialed(dialed: DialResult): void {
    const { proxy, client, tally } = this.#setup;
    if (!dialed.ok || client.destroyed) {
      // The 200 went before the dial: a destination that cannot be reached is a close, with its code.
      if (dialed.ok) dialed.socket.destroy();
      else if (!dialed.aborted) tally.code = failureCode(proxy.lifecycle, dialed.code);
      client.destroy();
      this.#end();
      return;
    }
    const upstream = dialed.socket;
    this.#upstream = upstream;
    this.#idle = proxy.idleSweep.watch(client, upstream, this.#onGone);
    const held = this.#held;
    if (held !== null) {
      this.#splice(held.chunks, held.ended, 'not_tls_or_http');
      return;
    }
    client.on('data', this.#onClientData);
    client.on('end', this.#onClientEnd);
    client.on('close', this.#onGone);
    upstream.on('data', this.#onUpstreamData);
    upstream.on('end', this.#onUpstreamEnd);
    upstream.on('close', this.#onGone);
    client.resume();
  }

  #clientData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    const bytes = Buffer.concat(this.#chunks);
    const kind = judgeFlight(bytes);
    if (kind === null) return;
    this.#stopListening();
    if (kind === 'other') this.#splice(this.#chunks, false, 'not_tls_or_http');
    else this.#interceptAfterAll(bytes, kind);
  }

  #clientEnd(): void {
    this.#stopListening();
    if (this.#chunks.length === 0) {
      this.#splice(this.#chunks, true, 'server_first');
      return;
    }
    const bytes = Buffer.concat(this.#chunks);
    const kind = judgeFlight(bytes) ?? likelyKind(bytes);
    if (kind === 'other') this.#splice(this.#chunks, true, 'not_tls_or_http');
    else this.#interceptAfterAll(bytes, kind);
  }

  /** The destination spoke first: its bytes go back for the splice to carry. */
  #upstreamData(chunk: Buffer): void {
    this.#stopListening();
    const upstream = this.#upstream;
    upstream?.pause();
    upstream?.unshift(chunk);
    this.#splice(this.#chunks, false, 'server_first');
  }

  /** The destination's FIN first: the splice carries it to the client (the socket is already readableEnded). */
  #upstreamEnd(): void {
    this.#stopListening();
    this.#splice(this.#chunks, false, 'server_first');
  }

  /** Either socket closed (a reset is carried on as one), or both were idle, before anything was spliced. */
  #gone(): void {
    this.#stopListening();
    closePair(this.#setup.client, this.#upstream);
    this.#end();
  }

  #interceptAfterAll(bytes: Buffer, kind: 'tls' | 'http'): void {
    const { client } = this.#setup;
    this.#idle?.stop();
    this.#upstream?.destroy();
    client.pause();
    this.#done = true;
    try {
      this.#setup.intercept(bytes, kind);
    } catch (error) {
      // Called from a socket's event: a fault of ours costs this tunnel, never the process.
      this.#done = false;
      this.dialFailed(error);
    }
  }

  #splice(chunks: readonly Buffer[], ended: boolean, reason: InterceptSkip): void {
    const upstream = this.#upstream;
    const idle = this.#idle;
    if (upstream === null || idle === null) return;
    const { conn, client, target, tally } = this.#setup;
    tally.interceptSkipped = reason;
    conn.log.debug({ target: target.authority, reason }, 'interception skipped: the tunnel carries another protocol');
    for (const chunk of chunks) upstream.write(chunk);
    if (ended) upstream.end();
    idle.restart();
    spliceSockets(client, upstream, idle, this.#setup.proxy.lifecycle, this.#closed.bind(this));
  }

  /** `cut`: a graceful close cut the spliced tunnel (socket-pipe.ts). */
  #closed(cut: boolean): void {
    const { tally } = this.#setup;
    const upstream = this.#upstream;
    if (upstream !== null) {
      tally.bytesUp = upstream.bytesWritten;
      tally.bytesDown = upstream.bytesRead;
    }
    markTunnelCut(tally, cut);
    this.#end(!cut);
  }

  #stopListening(): void {
    const { client } = this.#setup;
    client.off('data', this.#onClientData);
    client.off('end', this.#onClientEnd);
    client.off('close', this.#onGone);
    const upstream = this.#upstream;
    if (upstream === null) return;
    upstream.off('data', this.#onUpstreamData);
    upstream.off('end', this.#onUpstreamEnd);
    upstream.off('close', this.#onGone);
  }

  /** The exchange is over: its closed line, once. `finished`: see reportClosed. */
  #end(finished = false): void {
    if (this.#done) return;
    this.#done = true;
    this.#idle?.stop();
    const { proxy, conn, tally } = this.#setup;
    reportClosed(proxy, conn, tally, finished);
  }
}
