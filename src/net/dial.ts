import { connect, isIPv6, type OnReadOpts, type Socket, type TcpNetConnectOpts } from 'node:net';
import { startDeadline, type Deadline } from './deadline-sweep.js';
import { descriptorExhaustion, type Exhaustion } from './descriptor-exhaustion.js';
import { giveSlots } from './socket-slots.js';
import { relayableReads } from './relay-reads.js';

/** Whatever the dial is for (the client socket): when it closes, the dial is abandoned. */
export interface DialOwner {
  readonly destroyed: boolean;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

export interface DialOptions {
  /**
   * Per address: an attempt whose SYN is not answered within this time has failed (the next starts
   * after ATTEMPT_DELAY_MS anyway). Timed by a shared sweep (deadline-sweep.ts): it fires up to an
   * eighth of the timeout late, never early.
   */
  readonly connectTimeoutMs: number;
  /**
   * When the owner closes (the client went away), the attempts in progress are destroyed and no
   * further address is tried. (A plain close listener: an AbortController per tunnel costs more.)
   */
  readonly owner?: DialOwner;
  /**
   * The socket will be spliced raw to a client (not wrapped in TLS): dial it with relayable
   * reads (relay-reads.ts), so the splice can relay its reads without a copy per read.
   */
  readonly relayable?: boolean;
  /** How long an attempt may go unanswered before the next address is tried too; ATTEMPT_DELAY_MS by default. */
  readonly attemptDelayMs?: number;
}

/**
 * KZP_ERR_UPSTREAM_PROXY only from src/net/connector.ts, when the path went through an upstream
 * proxy. KZP_ERR_LIMIT_CONNECTIONS: the proxy had no descriptor for the socket (EMFILE, ENFILE),
 * its own limit and not the destination's failure; `exhausted` then says which.
 */
export type DialCode = 'KZP_ERR_UPSTREAM_CONNECT' | 'KZP_ERR_UPSTREAM_TIMEOUT' | 'KZP_ERR_UPSTREAM_PROXY' | 'KZP_ERR_LIMIT_CONNECTIONS';

export type DialResult =
  | { readonly ok: true; readonly socket: Socket; readonly address: string }
  | { readonly ok: false; readonly code: DialCode; readonly aborted: boolean; readonly exhausted?: Exhaustion };

/** RFC 8305's Connection Attempt Delay: the next address is tried when the last has not connected within this. */
export const ATTEMPT_DELAY_MS = 250;

/**
 * Open a TCP connection to exactly the given (already checked) addresses, never resolving
 * anything: each address is an IP literal, so `net.connect` does no lookup. With several, the
 * attempts are staggered as in Happy Eyeballs (RFC 8305): families alternate, the next address
 * starts when the last has not connected within ATTEMPT_DELAY_MS or as soon as it fails, the first to
 * connect wins and the others are destroyed. An address whose SYNs vanish (a dual-stack name
 * without an IPv6 route) then costs 250 ms, not the whole connect timeout. The socket is returned
 * connected, half-open allowed, Nagle off.
 */
export function dial(addresses: readonly string[], port: number, options: DialOptions): Promise<DialResult> {
  return new Promise((resolve) => {
    dialThen(addresses, port, options, { dialed: resolve });
  });
}

/** Where dialThen reports. */
export interface DialReport {
  /** Once per dial; must not throw: nothing above it catches. */
  dialed(result: DialResult): void;
}

/**
 * dial, reporting to `report.dialed`: once, from the socket's event (or in this call when the
 * owner is gone already), never inside a promise reaction. A tunnel's dial took a promise and two
 * more for its reaction and catch (bench/profile.mjs connrate --alloc). An object rather than a
 * callback, so a tunnel's setup passes itself and binds nothing.
 */
export function dialThen(addresses: readonly string[], port: number, options: DialOptions, report: DialReport): void {
  const only = addresses.length === 1 ? addresses[0] : undefined;
  if (only !== undefined) dialOne(only, port, options, report);
  else dialMany(alternateFamilies(addresses), port, options, report);
}

function dialMany(order: readonly string[], port: number, options: DialOptions, report: DialReport): void {
  const owner = options.owner;
  if (owner?.destroyed === true || order.length === 0) {
    report.dialed({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: owner?.destroyed === true });
    return;
  }
  const pending = new Set<Attempt>();
  let next = 0;
  let lastCode: DialCode = 'KZP_ERR_UPSTREAM_CONNECT';
  let lastExhausted: Exhaustion | null = null;
  let settled = false;
  let stagger: NodeJS.Timeout | undefined;

  const finish = (result: DialResult): void => {
    settled = true;
    clearTimeout(stagger);
    owner?.off('close', onAbort);
    for (const attempt of pending) attempt.cancel();
    pending.clear();
    report.dialed(result);
  };
  const onAbort = (): void => {
    finish({ ok: false, code: lastCode, aborted: true });
  };
  const startNext = (): void => {
    clearTimeout(stagger);
    const address = order[next];
    if (settled || address === undefined) return;
    next += 1;
    const attempt = attemptOne(address, port, options.connectTimeoutMs, options.relayable === true, {
      attempted: (outcome) => {
        pending.delete(attempt);
        if (settled) return;
        if (outcome.ok) {
          finish({ ok: true, socket: outcome.socket, address });
          return;
        }
        lastCode = outcome.code;
        lastExhausted = outcome.exhausted ?? null;
        // A failed attempt starts the next at once; the last one to fail settles the dial.
        if (next < order.length) startNext();
        else if (pending.size === 0) finish(lastExhausted === null ? { ok: false, code: lastCode, aborted: false } : { ok: false, code: lastCode, aborted: false, exhausted: lastExhausted });
      },
    });
    pending.add(attempt);
    if (next < order.length) stagger = setTimeout(startNext, options.attemptDelayMs ?? ATTEMPT_DELAY_MS);
  };
  owner?.on('close', onAbort);
  startNext();
}

/**
 * One address (an IP literal, a name with one address): one attempt, without the staggering's
 * bookkeeping (bench/paired.mjs --mode conc, Node 24: 0.964x CPU per new tunnel).
 */
function dialOne(address: string, port: number, options: DialOptions, report: DialReport): void {
  if (options.owner?.destroyed === true) {
    report.dialed({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: true });
    return;
  }
  new SingleDial(address, port, options, report).start();
}

/** dialOne's state: the owner's listener is a method bound to it (see src/proxy/connect-tunnel.ts on why). */
class SingleDial implements AttemptReporter {
  readonly #address: string;
  readonly #port: number;
  readonly #options: DialOptions;
  readonly #report: DialReport;
  #attempt: Attempt | null = null;
  readonly #onAbort: () => void = this.#abort.bind(this);

  constructor(address: string, port: number, options: DialOptions, report: DialReport) {
    this.#address = address;
    this.#port = port;
    this.#options = options;
    this.#report = report;
  }

  start(): void {
    const options = this.#options;
    this.#attempt = attemptOne(this.#address, this.#port, options.connectTimeoutMs, options.relayable === true, this);
    options.owner?.on('close', this.#onAbort);
  }

  attempted(outcome: AttemptOutcome): void {
    this.#options.owner?.off('close', this.#onAbort);
    if (outcome.ok) this.#report.dialed({ ok: true, socket: outcome.socket, address: this.#address });
    else if (outcome.exhausted === undefined) this.#report.dialed({ ok: false, code: outcome.code, aborted: false });
    else this.#report.dialed({ ok: false, code: outcome.code, aborted: false, exhausted: outcome.exhausted });
  }

  #abort(): void {
    this.#options.owner?.off('close', this.#onAbort);
    this.#attempt?.cancel();
    this.#report.dialed({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: true });
  }
}

/**
 * The order attempts are made in: the resolver's order (RFC 6724 preferences), families
 * alternating from the first address's (RFC 8305 §4), so a broken family costs one delay.
 */
export function alternateFamilies(addresses: readonly string[]): readonly string[] {
  const first = addresses[0];
  if (first === undefined || addresses.length < 2) return addresses;
  const family = isIPv6(first);
  const leading = addresses.filter((address) => isIPv6(address) === family);
  const other = addresses.filter((address) => isIPv6(address) !== family);
  if (other.length === 0) return addresses;
  const order: string[] = [];
  for (let i = 0; i < Math.max(leading.length, other.length); i++) {
    const mine = leading[i];
    const theirs = other[i];
    if (mine !== undefined) order.push(mine);
    if (theirs !== undefined) order.push(theirs);
  }
  return order;
}

type AttemptOutcome = { readonly ok: true; readonly socket: Socket } | { readonly ok: false; readonly code: DialCode; readonly exhausted?: Exhaustion };

interface Attempt {
  /** Destroys the socket of an attempt that has not reported (another won, or the owner left). */
  cancel(): void;
}

/**
 * net.connect's options, in one shape whether `onread` is given or not. Node's Socket, Duplex,
 * ReadableState and WritableState constructors and Socket.connect all read this object; a second
 * shape (the origin pools' dials, which take no `onread`) deoptimized every one of them when a
 * proxy that had served tunnels served its first plain request, and the next tunnels ran on code
 * compiled again (bench/profile.mjs connrate --first connrate,http --node-arg --trace-deopt, Node
 * 24: none of them deoptimizes now; the next 5,000 tunnels 0.68-0.74 s of CPU against 0.72-0.78 s).
 */
interface ConnectShape {
  readonly host: string;
  readonly port: number;
  readonly allowHalfOpen: true;
  readonly noDelay: true;
  readonly onread: OnReadOpts | undefined;
}

/** Where an attempt reports, exactly once unless cancelled first. */
interface AttemptReporter {
  attempted(outcome: AttemptOutcome): void;
}

/**
 * A dial's options for net.connect, always this shape (see ConnectShape); also what
 * src/runtime/socket-options-clone.ts copies for its throwaway sockets.
 */
export function connectOptions(host: string, port: number, onread: OnReadOpts | undefined): TcpNetConnectOpts {
  // Node reads an undefined `onread` as none: the key is always there, so the shape is one.
  const shape: ConnectShape = { host, port, allowHalfOpen: true, noDelay: true, onread };
  return shape;
}

/** One connection attempt with its own connect timeout; reports exactly once unless cancelled first. */
function attemptOne(address: string, port: number, connectTimeoutMs: number, relayable: boolean, reporter: AttemptReporter): Attempt {
  const reads = relayable ? relayableReads() : null;
  const socket = connect(connectOptions(address, port, reads === null ? undefined : reads.onread));
  giveSlots(socket);
  reads?.bind(socket);
  return new SocketAttempt(socket, connectTimeoutMs, reporter);
}

/** An attempt's state: listeners are methods bound to it (see src/proxy/connect-tunnel.ts on why). */
class SocketAttempt implements Attempt {
  readonly #socket: Socket;
  readonly #reporter: AttemptReporter;
  readonly #deadline: Deadline;
  #done = false;
  readonly #onConnect: () => void = this.#connected.bind(this);
  readonly #onError: (error: Error) => void = this.#failed.bind(this);

  constructor(socket: Socket, connectTimeoutMs: number, reporter: AttemptReporter) {
    this.#socket = socket;
    this.#reporter = reporter;
    this.#deadline = startDeadline(connectTimeoutMs, this.#timedOut.bind(this));
    // A late error from a socket we gave up on (or one the caller has not yet wired) must not crash.
    socket.on('error', ignoreError);
    socket.on('connect', this.#onConnect);
    socket.on('error', this.#onError);
  }

  cancel(): void {
    this.#end(null);
  }

  #connected(): void {
    this.#end({ ok: true, socket: this.#socket });
  }

  #failed(error: Error): void {
    // No descriptor for the socket: the proxy's own limit, not the destination refusing.
    const exhausted = descriptorExhaustion(error);
    this.#end(exhausted === null ? { ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT' } : { ok: false, code: 'KZP_ERR_LIMIT_CONNECTIONS', exhausted });
  }

  #timedOut(): void {
    this.#end({ ok: false, code: 'KZP_ERR_UPSTREAM_TIMEOUT' });
  }

  #end(outcome: AttemptOutcome | null): void {
    if (this.#done) return;
    this.#done = true;
    this.#deadline.cancel();
    const socket = this.#socket;
    socket.off('connect', this.#onConnect);
    socket.off('error', this.#onError);
    if (outcome === null || !outcome.ok) socket.destroy();
    if (outcome !== null) this.#reporter.attempted(outcome);
  }
}

function ignoreError(): void {
  // The owner attaches its own handler; this one only keeps an unowned error from being thrown.
}
