import type { Action } from '../contract/action.js';
import type { Decision } from '../contract/decision.js';
import type { ErrorCode } from '../errors/codes.js';
import { millisField, numberField, textField, writeInfoLine } from '../observe/info-line.js';
import type { Logger } from '../observe/logger.js';

/**
 * The two canonical log lines of the data plane, with constant field names:
 * `decision` once per action, `closed` once per finished tunnel or request.
 * Targets are "host:port" and paths never appear, so query strings cannot leak. `log` is the root
 * logger and `conn` the connection's id: the bytes are those of a `conn` child logger's line, without
 * a pino child per connection (which cost about 25 µs of CPU per new tunnel, bench/profile.mjs connrate).
 */
export function logDecision(log: Logger, conn: number, agent: string, action: Action, decision: Decision, ms: number): void {
  let fields =
    numberField('conn', conn) +
    textField('agent', agent) +
    textField('kind', action.kind) +
    textField('target', action.target) +
    textField('method', action.metadata.method ?? (action.kind === 'connect' ? 'CONNECT' : null)) +
    textField('decision', decision.decision) +
    textField('reason', decision.reason) +
    textField('source', decision.source) +
    textField('verdict_id', decision.verdictId) +
    millisField('ms', ms);
  if (decision.wouldBlock) fields += ',"would_block":true';
  if (decision.flagged) fields += ',"flagged":true';
  writeInfoLine(log, fields, 'decision');
}

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
  /** Counted among the open tunnels (tunnelOpened), until reported closed. */
  opened: boolean;
  readonly startedAt: number;
}

export function newTally(kind: ExchangeTally['kind'], startedAt: number): ExchangeTally {
  return { kind, target: null, action: null, status: 0, bytesUp: 0, bytesDown: 0, code: null, opened: false, startedAt };
}

/**
 * `client`: the client's address, as Squid's and Envoy's access logs carry it ('' when unknown);
 * null leaves it out (not read: a loopback-only listener, see ConnectionRegistry.readClientAddresses).
 */
export function logClosed(log: Logger, conn: number, client: string | null, tally: ExchangeTally, now: number): void {
  let fields =
    numberField('conn', conn) +
    (client === null ? '' : textField('client', client)) +
    textField('kind', tally.kind) +
    textField('target', tally.target) +
    numberField('status', tally.status) +
    numberField('bytes_up', tally.bytesUp) +
    numberField('bytes_down', tally.bytesDown) +
    millisField('duration_ms', now - tally.startedAt);
  if (tally.code !== null) fields += textField('code', tally.code);
  writeInfoLine(log, fields, 'closed');
}
