import { z } from 'zod';
import type { Evidence } from '../contract/decision.js';
import type { ControlPlaneAnswer } from './verdict-client.js';

/**
 * The wire format of the answer to `POST /v1/verdicts`, parsed strictly at the edge: known fields
 * must have the right types (else the answer is malformed), unknown fields are tolerated.
 * A decision at top level, or else under `verdict`, wins; no decision (an empty body included)
 * means "recorded, no opinion".
 */
const MAX_REASON = 1024;
const MAX_EVIDENCE = 32;
const MAX_VALUE = 1024;

/** Text from the control plane ends up in logs and response headers: bounded, no control characters. */
const bounded = (max: number) => z.string().transform((text) => text.replace(/\p{Cc}/gu, ' ').slice(0, max));

const evidenceWire = z.looseObject({
  kind: bounded(100),
  value: bounded(MAX_VALUE),
  source: bounded(100),
});

const idWire = z
  .union([z.string().min(1).max(200), z.number().int().nonnegative()])
  .nullable()
  .optional();

const verdictWire = z.looseObject({
  decision: z.string().trim().min(1).max(100).nullable().optional(),
  reason: bounded(MAX_REASON).nullable().optional(),
  evidence: z.array(evidenceWire).nullable().optional(),
  confidence: z.number().min(0).max(1).nullable().optional(),
  id: idWire,
  verdict_id: idWire,
});

export const answerWire = verdictWire.extend({ verdict: verdictWire.nullable().optional() });

type VerdictWire = z.output<typeof verdictWire>;

export type AnswerParse =
  | { readonly ok: true; readonly answer: ControlPlaneAnswer }
  | { readonly ok: false; readonly message: string };

/** Only JSON's own whitespace: a body of anything else that is not JSON stays malformed. */
const BLANK = /^[\t\n\r ]*$/;

/**
 * Body text of a 2xx answer → the domain answer, or a short description of what is wrong (no body echo).
 * An empty (or whitespace-only) body, whatever the 2xx (204 and an empty 200/201/202 alike),
 * carries no decision: recorded, no opinion.
 */
export function parseAnswer(text: string): AnswerParse {
  if (BLANK.test(text)) return { ok: true, answer: { kind: 'recorded', verdictId: null } };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'answer is not JSON' };
  }
  const parsed = answerWire.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'answer' : issue.path.map(String).join('.');
    return { ok: false, message: `answer malformed at ${where}: ${issue?.message ?? 'invalid'}` };
  }
  const top = parsed.data;
  const nested = top.verdict ?? undefined;
  const verdictId = pickId(top) ?? (nested === undefined ? null : pickId(nested));
  const source = hasDecision(top) ? top : nested !== undefined && hasDecision(nested) ? nested : undefined;
  if (source === undefined) return { ok: true, answer: { kind: 'recorded', verdictId } };
  return { ok: true, answer: toVerdict(source, source.decision, verdictId) };
}

function hasDecision(wire: VerdictWire): wire is VerdictWire & { decision: string } {
  return typeof wire.decision === 'string';
}

function pickId(wire: VerdictWire): string | null {
  const id = wire.id ?? wire.verdict_id;
  return id === undefined || id === null ? null : String(id);
}

function toVerdict(wire: VerdictWire, reported: string, verdictId: string | null): ControlPlaneAnswer {
  const normalised = reported.toLowerCase();
  const flagged = normalised !== 'allow' && normalised !== 'block';
  const decision = normalised === 'block' ? 'block' : 'allow';
  const shown = reported.slice(0, 64);
  const reason =
    wire.reason !== undefined && wire.reason !== null && wire.reason.trim() !== ''
      ? wire.reason
      : flagged
        ? `flagged by the Kaizen control plane (decision "${shown}")`
        : `${decision === 'block' ? 'blocked' : 'allowed'} by the Kaizen control plane`;
  const evidence: Evidence[] = (wire.evidence ?? []).slice(0, MAX_EVIDENCE).map(({ kind, value, source }) => ({ kind, value, source }));
  return {
    kind: 'verdict',
    decision,
    flagged,
    reported: shown,
    reason,
    evidence,
    confidence: wire.confidence ?? null,
    verdictId,
  };
}
