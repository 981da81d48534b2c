import { z } from 'zod';
import type { Evidence } from '../contract/decision.js';
import type { ControlPlaneAnswer } from './verdict-client.js';

/**
 * The wire format of the answer to `POST /v1/verdicts`, parsed at the edge. The decision, and where
 * it sits, is read strictly: the body must be a JSON object, `decision` a non-empty string (or
 * null/absent), `verdict` an object (or null/absent), else the answer is malformed. A decision at
 * top level, or else under `verdict`, wins; no decision (an empty body included) means "recorded,
 * no opinion". Every other field the proxy reads (reason, evidence, confidence, id, verdict_id) is
 * secondary: one of the wrong type or range is ignored, an evidence item of the wrong shape is
 * dropped, and the answer names them in `ignored`, so a readable decision is never lost over them.
 * Unknown fields are tolerated.
 */
const MAX_REASON = 1024;
const MAX_EVIDENCE = 32;
const MAX_VALUE = 1024;

/** Text from the control plane ends up in logs and response headers: bounded, no control characters. */
const bounded = (max: number) => z.string().transform((text) => text.replace(/\p{Cc}/gu, ' ').slice(0, max));

/** Where a decision sits: the answer itself, and `verdict` inside it. */
const placeWire = z.looseObject({ decision: z.string().trim().min(1).max(100).nullable().optional() });

export const answerWire = placeWire.extend({ verdict: placeWire.nullable().optional() });

const reasonWire = bounded(MAX_REASON).nullable().optional();
const evidenceWire = z.looseObject({ kind: bounded(100), value: bounded(MAX_VALUE), source: bounded(100) });
const confidenceWire = z.number().min(0).max(1).nullable().optional();
const idWire = z
  .union([z.string().min(1).max(200), z.number().int().nonnegative()])
  .nullable()
  .optional();

type Place = z.output<typeof placeWire>;

export type AnswerParse =
  /** `ignored`: the secondary fields left out for their type or shape, by path ("confidence", "verdict.evidence"). */
  | { readonly ok: true; readonly answer: ControlPlaneAnswer; readonly ignored: readonly string[] }
  | { readonly ok: false; readonly message: string };

/** Only JSON's own whitespace: a body of anything else that is not JSON stays malformed. */
const BLANK = /^[\t\n\r ]*$/;

/**
 * Body text of a 2xx answer → the domain answer, or a short description of what is wrong (no body echo).
 * An empty (or whitespace-only) body, whatever the 2xx (204 and an empty 200/201/202 alike),
 * carries no decision: recorded, no opinion.
 */
export function parseAnswer(text: string): AnswerParse {
  if (BLANK.test(text)) return { ok: true, answer: { kind: 'recorded', verdictId: null }, ignored: [] };
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
  const fields = new SecondaryFields();
  const verdictId = pickId(fields, top, '') ?? (nested === undefined ? null : pickId(fields, nested, 'verdict.'));
  const [source, at] = hasDecision(top) ? [top, ''] : nested !== undefined && hasDecision(nested) ? [nested, 'verdict.'] : [undefined, ''];
  if (source === undefined) return { ok: true, answer: { kind: 'recorded', verdictId }, ignored: fields.ignored };
  return { ok: true, answer: toVerdict(fields, source, at, verdictId), ignored: fields.ignored };
}

/** Reads secondary fields one by one, and remembers which were ignored. */
class SecondaryFields {
  readonly ignored: string[] = [];

  /** The field's value, or undefined (and the field named) when it does not fit `wire`. */
  read<T>(wire: z.ZodType<T>, value: unknown, path: string): T | undefined {
    const parsed = wire.safeParse(value);
    if (parsed.success) return parsed.data;
    this.ignore(path);
    return undefined;
  }

  ignore(path: string): void {
    if (!this.ignored.includes(path)) this.ignored.push(path);
  }
}

function hasDecision(wire: Place): wire is Place & { decision: string } {
  return typeof wire.decision === 'string';
}

/** `id`, else `verdict_id`: the first that is readable and present. */
function pickId(fields: SecondaryFields, wire: Place, at: string): string | null {
  for (const name of ['id', 'verdict_id'] as const) {
    const id = fields.read(idWire, wire[name], `${at}${name}`);
    if (id !== undefined && id !== null) return String(id);
  }
  return null;
}

/** The evidence items of the right shape (the first MAX_EVIDENCE); the field is named when any was dropped or it is no list. */
function readEvidence(fields: SecondaryFields, value: unknown, path: string): Evidence[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    fields.ignore(path);
    return [];
  }
  const evidence: Evidence[] = [];
  for (const item of value) {
    if (evidence.length >= MAX_EVIDENCE) break;
    const read = fields.read(evidenceWire, item, path);
    if (read !== undefined) evidence.push({ kind: read.kind, value: read.value, source: read.source });
  }
  return evidence;
}

function toVerdict(fields: SecondaryFields, wire: Place & { decision: string }, at: string, verdictId: string | null): ControlPlaneAnswer {
  const reported = wire.decision;
  const normalised = reported.toLowerCase();
  const flagged = normalised !== 'allow' && normalised !== 'block';
  const decision = normalised === 'block' ? 'block' : 'allow';
  const shown = reported.slice(0, 64);
  const given = fields.read(reasonWire, wire['reason'], `${at}reason`);
  const reason =
    given !== undefined && given !== null && given.trim() !== ''
      ? given
      : flagged
        ? `flagged by the Kaizen control plane (decision "${shown}")`
        : `${decision === 'block' ? 'blocked' : 'allowed'} by the Kaizen control plane`;
  return {
    kind: 'verdict',
    decision,
    flagged,
    reported: shown,
    reason,
    evidence: readEvidence(fields, wire['evidence'], `${at}evidence`),
    confidence: fields.read(confidenceWire, wire['confidence'], `${at}confidence`) ?? null,
    verdictId,
  };
}
