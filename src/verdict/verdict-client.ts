import type { Action } from '../contract/action.js';
import type { Evidence } from '../contract/decision.js';
import type { KaizenProxyError } from '../errors/kaizen-error.js';
import type { LocalVerdict } from './local-policy.js';
import type { Traffic } from './request-slots.js';

/** One action reported to the control plane, with the verdict reached locally. */
export interface VerdictReport {
  readonly agent: string;
  readonly action: Action;
  readonly verdict: LocalVerdict;
}

/** The control plane's answer, turned into the domain model (the wire format lives in answer-schema.ts). */
export type ControlPlaneAnswer =
  | {
      /** The answer carried a decision: it wins over the local verdict. */
      readonly kind: 'verdict';
      readonly decision: 'allow' | 'block';
      /** A decision other than allow/block (e.g. "anomaly"): allowed, and flagged. */
      readonly flagged: boolean;
      /** The decision string as the control plane sent it (bounded, for logs). */
      readonly reported: string;
      readonly reason: string;
      readonly evidence: readonly Evidence[];
      readonly confidence: number | null;
      readonly verdictId: string | null;
    }
  | {
      /** "Recorded, no opinion": the local verdict stands. */
      readonly kind: 'recorded';
      readonly verdictId: string | null;
    };

/** A failed exchange: a value with a stable code, never a thrown transport error. */
export interface ControlPlaneFailure {
  readonly ok: false;
  readonly error: KaizenProxyError;
  /** The control plane refused this report for good (400, 409, 413, 415, 422: its body): sending it again cannot help, nor spooling it. */
  readonly rejected?: boolean;
  /**
   * A 2xx answered the report, so the control plane has it, but its body is no verdict answer
   * (malformed, too large). A live call has no verdict all the same; a replay, whose answer changes
   * nothing, is acknowledged by it. Never set for a 2xx whose body was cut short.
   */
  readonly delivered?: boolean;
  /**
   * The `Retry-After` of the last attempt (a 429, a 5xx, or another status that holds the spool
   * such as a 404, 405 or 410; never a refused report), in ms, when it carried one: the control
   * plane asked not to be sent anything more before then, so the spool replay waits it out.
   */
  readonly retryAfterMs?: number;
}

export type ControlPlaneResult =
  | {
      readonly ok: true;
      readonly answer: ControlPlaneAnswer;
      /** Secondary fields of the answer left out for their type or shape (answer-schema.ts), when there were any. */
      readonly ignored?: readonly string[];
    }
  | ControlPlaneFailure;

/** What the decider needs from the control plane; the undici client implements it. */
export interface VerdictClient {
  /**
   * Never rejects: every failure comes back as `{ ok: false }` within the deadline. `traffic`:
   * `live` (the default) when an agent waits for the answer, `background` for block reports and
   * replay, which yield the client's request slots to live calls (request-slots.ts).
   */
  send(report: VerdictReport, traffic?: Traffic): Promise<ControlPlaneResult>;
  close(): Promise<void>;
}
