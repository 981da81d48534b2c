import type { Action } from '../contract/action.js';
import type { Decision } from '../contract/decision.js';
import type { ErrorCode } from '../errors/codes.js';
import type { Logger } from '../observe/logger.js';

/**
 * The two canonical log lines of the data plane, with constant field names:
 * `decision` once per action, `closed` once per finished tunnel or request.
 * Targets are "host:port" and paths never appear, so query strings cannot leak.
 */
export function logDecision(log: Logger, agent: string, action: Action, decision: Decision, ms: number): void {
  const line: Record<string, unknown> = {
    agent,
    kind: action.kind,
    target: action.target,
    method: action.metadata.method ?? (action.kind === 'connect' ? 'CONNECT' : null),
    decision: decision.decision,
    reason: decision.reason,
    source: decision.source,
    verdict_id: decision.verdictId,
    ms: round(ms),
  };
  if (decision.wouldBlock) line['would_block'] = true;
  if (decision.flagged) line['flagged'] = true;
  log.info(line, 'decision');
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
  readonly startedAt: number;
}

export function newTally(kind: ExchangeTally['kind'], startedAt: number): ExchangeTally {
  return { kind, target: null, action: null, status: 0, bytesUp: 0, bytesDown: 0, code: null, startedAt };
}

export function logClosed(log: Logger, tally: ExchangeTally, now: number): void {
  const line: Record<string, unknown> = {
    kind: tally.kind,
    target: tally.target,
    status: tally.status,
    bytes_up: tally.bytesUp,
    bytes_down: tally.bytesDown,
    duration_ms: round(now - tally.startedAt),
  };
  if (tally.code !== null) line['code'] = tally.code;
  log.info(line, 'closed');
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
