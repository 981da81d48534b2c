import type { Action } from '../contract/action.js';
import type { Decision } from '../contract/decision.js';
import { numberField, textField } from '../observe/info-line.js';
import type { ExchangeTally } from './exchange-log.js';

/**
 * The runs of fields that repeat from one log line to the next, made once per target and reused
 * while their values stay the same: an agent's tunnels to one host log the same agent, kind, target,
 * method, decision, reason, source and verdict id each time, and close with the same kind, target
 * and status. Each field's text costs a scan for characters to escape and a few string joins; made
 * for every line they were most of the cost of the two lines (bench/profile.mjs connrate with the
 * batch's making timed: 1.0-1.6 µs a line before, 0.7-0.8 µs after).
 *
 * A memo is keyed by the target and holds the values its text was made from; any value that
 * differs makes the text anew and replaces the entry. Bounded: past MAX_TARGETS targets it starts
 * over (a sidecar's agent talks to tens of hosts; a shared proxy's lines only lose the reuse).
 */
const MAX_TARGETS = 1024;

interface DecisionEntry {
  readonly agent: string;
  readonly kind: string;
  readonly method: string | null;
  readonly decision: string;
  readonly reason: string;
  readonly source: string;
  readonly verdictId: string | null;
  readonly text: string;
}

interface ClosedEntry {
  readonly kind: string;
  readonly status: number;
  readonly text: string;
}

const decisions = new Map<string, DecisionEntry>();
const closings = new Map<string, ClosedEntry>();

/** `,"agent":…,"kind":…,"target":…,"method":…,"decision":…,"reason":…,"source":…,"verdict_id":…` */
export function decisionSegment(agent: string, action: Action, decision: Decision): string {
  const target = action.target;
  const kind = action.kind;
  const method = action.metadata.method ?? (kind === 'connect' ? 'CONNECT' : null);
  const entry = decisions.get(target);
  if (
    entry !== undefined &&
    entry.agent === agent &&
    entry.kind === kind &&
    entry.method === method &&
    entry.decision === decision.decision &&
    entry.reason === decision.reason &&
    entry.source === decision.source &&
    entry.verdictId === decision.verdictId
  ) {
    return entry.text;
  }
  const text =
    textField('agent', agent) +
    textField('kind', kind) +
    textField('target', target) +
    textField('method', method) +
    textField('decision', decision.decision) +
    textField('reason', decision.reason) +
    textField('source', decision.source) +
    textField('verdict_id', decision.verdictId);
  if (entry === undefined && decisions.size >= MAX_TARGETS) decisions.clear();
  decisions.set(target, { agent, kind, method, decision: decision.decision, reason: decision.reason, source: decision.source, verdictId: decision.verdictId, text });
  return text;
}

/** `,"kind":…,"target":…,"status":…` */
export function closedSegment(kind: ExchangeTally['kind'], target: string | null, status: number): string {
  if (target === null) return textField('kind', kind) + textField('target', null) + numberField('status', status);
  const entry = closings.get(target);
  if (entry !== undefined && entry.kind === kind && entry.status === status) return entry.text;
  const text = textField('kind', kind) + textField('target', target) + numberField('status', status);
  if (entry === undefined && closings.size >= MAX_TARGETS) closings.clear();
  closings.set(target, { kind, status, text });
  return text;
}
