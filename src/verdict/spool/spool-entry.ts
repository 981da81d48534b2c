import type { Action } from '../../contract/action.js';
import type { Evidence } from '../../contract/decision.js';
import type { VerdictReport } from '../verdict-client.js';

/**
 * One spooled report as stored on disk: the agent, the action (with its event_id and
 * observed_at) and the verdict the proxy enforced, as JSON with a format version. Decoding checks
 * the shape, so a record from a future version or a bug is refused instead of replayed wrong.
 */
const FORMAT_VERSION = 1;

export function encodeEntry(report: VerdictReport): Buffer {
  const { agent, action, verdict } = report;
  return Buffer.from(JSON.stringify({ v: FORMAT_VERSION, agent, action, verdict }), 'utf8');
}

export function decodeEntry(payload: Buffer): VerdictReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value['v'] !== FORMAT_VERSION || typeof value['agent'] !== 'string') return undefined;
  const action = value['action'];
  const verdict = value['verdict'];
  if (!isAction(action) || !isRecord(verdict)) return undefined;
  const decision = verdict['decision'];
  const reason = verdict['reason'];
  const evidence = verdict['evidence'];
  if ((decision !== 'allow' && decision !== 'block') || typeof reason !== 'string' || !Array.isArray(evidence) || !evidence.every(isEvidence)) {
    return undefined;
  }
  return { agent: value['agent'], action, verdict: { decision, reason, evidence } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAction(value: unknown): value is Action {
  if (!isRecord(value)) return false;
  const { kind, target, metadata } = value;
  if (kind !== 'connect' && kind !== 'http' && kind !== 'tool_call') return false;
  if (typeof target !== 'string' || !isRecord(metadata) || metadata['source'] !== 'egress') return false;
  return ['tool', 'publisher', 'hash'].every((key) => value[key] === undefined || typeof value[key] === 'string');
}

function isEvidence(value: unknown): value is Evidence {
  return isRecord(value) && typeof value['kind'] === 'string' && typeof value['value'] === 'string' && typeof value['source'] === 'string';
}
