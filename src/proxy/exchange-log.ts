import type { Action } from '../contract/action.js';
import type { Decision } from '../contract/decision.js';
import type { ErrorCode } from '../errors/codes.js';
import { InfoLine, millisField, numberField, textField, writeInfoRecord } from '../observe/info-line.js';
import { closedSegment, decisionSegment } from './line-segments.js';
import type { Logger } from '../observe/logger.js';

/**
 * The two canonical log lines of the data plane, with constant field names:
 * `decision` once per action, `closed` once per finished tunnel or request.
 * Targets are "host:port" and paths never appear, so query strings cannot leak. `log` is the root
 * logger and `conn` the connection's id: the bytes are those of a `conn` child logger's line, without
 * a pino child per connection (which cost about 25 µs of CPU per new tunnel, bench/profile.mjs connrate).
 */
export function logDecision(log: Logger, conn: number, agent: string, action: Action, decision: Decision, ms: number): void {
  writeInfoRecord(log, new DecisionLine(conn, agent, action, decision, ms));
}

/** The decision line's values (the action and decision do not change once made). */
class DecisionLine extends InfoLine {
  readonly #conn: number;
  readonly #agent: string;
  readonly #action: Action;
  readonly #decision: Decision;
  readonly #ms: number;

  constructor(conn: number, agent: string, action: Action, decision: Decision, ms: number) {
    super('decision');
    this.#conn = conn;
    this.#agent = agent;
    this.#action = action;
    this.#decision = decision;
    this.#ms = ms;
  }

  fields(): string {
    const action = this.#action;
    const decision = this.#decision;
    let fields = numberField('conn', this.#conn) + decisionSegment(this.#agent, action, decision) + millisField('ms', this.#ms);
    if (decision.wouldBlock) fields += ',"would_block":true';
    if (decision.flagged) fields += ',"flagged":true';
    return fields;
  }
}

/**
 * Why an intercepted CONNECT became an ordinary tunnel (intercept-passthrough.ts): its client sent
 * nothing in time (a server that speaks first), or a protocol that is neither TLS nor HTTP.
 */
export type InterceptSkip = 'server_first' | 'not_tls_or_http';

/** Mutable tally of one exchange, filled as it goes and logged once when it closes. */
export interface ExchangeTally {
  kind: 'connect' | 'http' | 'upgrade';
  target: string | null;
  /** The action once built (null for a request refused before it had one, e.g. a malformed target). */
  action: Action | null;
  status: number;
  bytesUp: number;
  bytesDown: number;
  code: ErrorCode | null;
  /** Why TLS with the destination failed (KZP_ERR_UPSTREAM_TLS): Node's code, `tls_error` on the closed line. */
  tlsError: string | null;
  /** Set when an intercepted CONNECT was tunnelled instead (`intercept_skipped` on the closed line). */
  interceptSkipped: InterceptSkip | null;
  /** Counted among the open tunnels (tunnelOpened), until reported closed. */
  opened: boolean;
  readonly startedAt: number;
}

export function newTally(kind: ExchangeTally['kind'], startedAt: number): ExchangeTally {
  return { kind, target: null, action: null, status: 0, bytesUp: 0, bytesDown: 0, code: null, tlsError: null, interceptSkipped: null, opened: false, startedAt };
}

/**
 * `agent`: the gateway agent the exchange was authenticated as, as its decision line names it (one
 * connection may carry several); null leaves it out (no gateway, or no agent authenticated).
 * `client`: the client's address, as Squid's and Envoy's access logs carry it ('' when unknown);
 * null leaves it out (not read: a loopback-only listener, see ConnectionRegistry.readClientAddresses).
 */
export function logClosed(log: Logger, conn: number, agent: string | null, client: string | null, tally: ExchangeTally, now: number): void {
  writeInfoRecord(log, new ClosedLine(conn, agent, client, tally, now - tally.startedAt));
}

/** The closed line's values, copied from the tally when the exchange closed. */
class ClosedLine extends InfoLine {
  readonly #conn: number;
  readonly #agent: string | null;
  readonly #client: string | null;
  readonly #kind: ExchangeTally['kind'];
  readonly #target: string | null;
  readonly #status: number;
  readonly #bytesUp: number;
  readonly #bytesDown: number;
  readonly #durationMs: number;
  readonly #code: ErrorCode | null;
  readonly #tlsError: string | null;
  readonly #interceptSkipped: InterceptSkip | null;

  constructor(conn: number, agent: string | null, client: string | null, tally: ExchangeTally, durationMs: number) {
    super('closed');
    this.#conn = conn;
    this.#agent = agent;
    this.#client = client;
    this.#kind = tally.kind;
    this.#target = tally.target;
    this.#status = tally.status;
    this.#bytesUp = tally.bytesUp;
    this.#bytesDown = tally.bytesDown;
    this.#durationMs = durationMs;
    this.#code = tally.code;
    this.#tlsError = tally.tlsError;
    this.#interceptSkipped = tally.interceptSkipped;
  }

  fields(): string {
    let fields =
      numberField('conn', this.#conn) +
      (this.#agent === null ? '' : textField('agent', this.#agent)) +
      (this.#client === null ? '' : textField('client', this.#client)) +
      closedSegment(this.#kind, this.#target, this.#status) +
      numberField('bytes_up', this.#bytesUp) +
      numberField('bytes_down', this.#bytesDown) +
      millisField('duration_ms', this.#durationMs);
    if (this.#code !== null) fields += textField('code', this.#code);
    if (this.#tlsError !== null) fields += textField('tls_error', this.#tlsError);
    if (this.#interceptSkipped !== null) fields += textField('intercept_skipped', this.#interceptSkipped);
    return fields;
  }
}
