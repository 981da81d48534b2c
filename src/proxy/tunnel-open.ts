import type { Socket } from 'node:net';
import type { Action } from '../contract/action.js';
import type { Target } from '../contract/target.js';
import type { ConnectionContext } from './connection-registry.js';
import type { Resolution } from '../contract/decision.js';
import type { ErrorCode } from '../errors/codes.js';
import type { DialResult } from '../net/dial.js';
import type { DialReceiver } from '../net/connector.js';
import { decideEagerly, type EagerDecision } from './decide-action.js';
import type { EarlyCapture } from './early-bytes.js';
import { refuseOnSocket } from './deny-response.js';
import { reportClosed } from './exchange-events.js';
import type { ExchangeTally } from './exchange-log.js';
import type { ProxyContext } from './proxy-context.js';
import { decisionRefusal, errorRefusal, type Refusal } from './refusal.js';

/** What the front half of a tunnel works on (openTunnel). */
export interface TunnelSetup {
  readonly proxy: ProxyContext;
  readonly conn: ConnectionContext;
  readonly client: Socket;
  readonly target: Target;
  readonly action: Action;
  readonly tally: ExchangeTally;
  readonly early: EarlyCapture;
  /** The destination socket will be spliced raw (not wrapped in TLS here): see relay-reads.ts. */
  readonly relayable: boolean;
}

/** Where the front half of a tunnel ends (openTunnel): `opened` once, or `failed` when a step threw (an `opened` that threw included). */
export interface TunnelReceiver {
  /** A connected destination socket, or null when there is nothing left to do (answered and logged here). */
  opened(upstream: Socket | null): void;
  /** A step threw: the caller logs it and closes the client. */
  failed(error: unknown): void;
}

/**
 * The shared front half of a tunnel (CONNECT or Upgrade): decide, and only on allow dial exactly
 * the resolved addresses. The decision is reported as it is made, before any SYN (its line is
 * only made when its batch is written, so this costs the dial next to nothing; reporting after the
 * 200, or from a deadline once the handshake took 20 ms, cost more: bench/paired.mjs, 0.956x CPU per
 * new tunnel at 50 concurrent on Node 24, 0.90x sequentially on Node 20). Every refusal
 * and failure is answered on the client socket and logged here; `receiver.opened` gets a connected
 * destination socket, or null when there is nothing left to do, once.
 *
 * Steps chained by callbacks, not an async function: a tunnel's setup took three promises and as
 * many async frames (handler, front half, dial); a decision known at once goes straight to the dial
 * (measured in connect-tunnel.ts). A throw in any step goes to `receiver.failed` (in the step that
 * was called synchronously, to the caller). The steps are methods of one object per tunnel, not
 * closures (see connect-tunnel.ts on why).
 */
export function openTunnel(setup: TunnelSetup, receiver: TunnelReceiver): void {
  new FrontHalf(setup, receiver).start();
}

class FrontHalf implements DialReceiver {
  readonly #setup: TunnelSetup;
  readonly #receiver: TunnelReceiver;
  readonly #onFailure: (error: unknown) => void;

  constructor(setup: TunnelSetup, receiver: TunnelReceiver) {
    this.#setup = setup;
    this.#receiver = receiver;
    this.#onFailure = receiver.failed.bind(receiver);
  }

  start(): void {
    const { proxy, conn, action, target } = this.#setup;
    const eager = decideEagerly(proxy, conn, action, target);
    if (eager instanceof Promise) {
      eager.then(this.#afterDecision.bind(this)).catch(this.#onFailure);
    } else this.#afterDecision(eager);
  }

  #afterDecision(decided: EagerDecision): void {
    if (decided.decision.enforce === 'refuse') {
      const { proxy, conn, client, action, tally, early } = this.#setup;
      refuseTunnel(proxy, conn, client, tally, decisionRefusal(decided.decision, { agent: proxy.agent, target: action.target }), early);
      this.#receiver.opened(null);
      return;
    }
    if (decided.resolved !== null) this.#afterResolution(decided.resolved);
    else {
      decided.resolution.then(this.#afterResolution.bind(this)).catch(this.#onFailure);
    }
  }

  #afterResolution(resolved: Resolution): void {
    const setup = this.#setup;
    if (gone(setup.client)) {
      this.#endsHere(null);
      return;
    }
    if (!resolved.ok) {
      this.#endsHere(resolved.code);
      return;
    }
    const proxy = setup.proxy;
    proxy.connector.openThen(setup.target, resolved.addresses, { connectTimeoutMs: proxy.connectTimeoutMs, owner: setup.client, relayable: setup.relayable }, this);
  }

  /** The dial's end (DialReceiver): called from a socket's event, so nothing may escape it. */
  dialed(dialed: DialResult): void {
    try {
      if (gone(this.#setup.client)) {
        if (dialed.ok) dialed.socket.destroy();
        this.#endsHere(null);
      } else if (dialed.ok) this.#receiver.opened(dialed.socket);
      else {
        // No descriptor for the dial: answered 503 KZP_ERR_LIMIT_CONNECTIONS (its code), and logged.
        if (dialed.exhausted !== undefined) this.#setup.proxy.refusalLog.descriptors(dialed.exhausted, 'connect');
        this.#endsHere(dialed.code);
      }
    } catch (error) {
      this.#onFailure(error);
    }
  }

  /** Opening the path threw (DialReceiver). */
  dialFailed(error: unknown): void {
    this.#onFailure(error);
  }

  /** The client is gone (null: nothing answered), or this step failed with `code` (answered). */
  #endsHere(code: ErrorCode | null): void {
    const { proxy, conn, client, target, tally, early } = this.#setup;
    if (code === null) abandoned(proxy, conn, tally);
    else refuseTunnel(proxy, conn, client, tally, errorRefusal(code, { target: target.authority }), early);
    this.#receiver.opened(null);
  }
}

/** openTunnel as a promise (a WebSocket upgrade's setup, which is async throughout). */
export function openTunnelUpstream(setup: TunnelSetup): Promise<Socket | null> {
  return new Promise((resolve, reject) => {
    try {
      openTunnel(setup, { opened: resolve, failed: reject });
    } catch (error) {
      reject(error instanceof Error ? error : new Error('tunnel setup failed'));
    }
  });
}

/** Answer a tunnel request on the raw socket and report the exchange as closed. */
export function refuseTunnel(
  proxy: ProxyContext,
  conn: ConnectionContext,
  client: Socket,
  tally: ExchangeTally,
  refusal: Refusal,
  early?: EarlyCapture,
): void {
  early?.release();
  tally.code = refusal.code;
  tally.status = refusal.status;
  refuseOnSocket(client, refusal);
  reportClosed(proxy, conn, tally);
}

/** Bytes the client sent while the tunnel was being set up go first, and its FIN if it sent one. */
export function forwardEarlyBytes(early: EarlyCapture, upstream: Socket): void {
  const { chunks, ended } = early.release();
  for (const chunk of chunks) upstream.write(chunk);
  if (ended) upstream.end();
}

/** Re-read after each await (a plain property check would be narrowed away by the compiler). */
function gone(client: Socket): boolean {
  return client.destroyed;
}

/** The client went away before the tunnel existed: nothing answered, status 0. */
function abandoned(proxy: ProxyContext, conn: ConnectionContext, tally: ExchangeTally): void {
  tally.status = 0;
  reportClosed(proxy, conn, tally);
}
