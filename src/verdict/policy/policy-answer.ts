import { finish, type Steps } from '../../runtime/steps.js';
import { parsePoliciesSteps } from './parse-policies.js';
import type { PolicySpec } from './policy-spec.js';
import { policyAnswerWire } from './policy-wire.js';

export type PolicyAnswer = { readonly ok: true; readonly policies: readonly PolicySpec[] } | { readonly ok: false; readonly message: string };

/**
 * The body of `GET /v1/policy` → validated policies, or one short reason (no body echo). The whole
 * answer is refused if any policy is malformed: a partial set could silently drop a block.
 */
export function parsePolicyAnswer(text: string): PolicyAnswer {
  return finish(parsePolicyAnswerSteps(text));
}

/**
 * parsePolicyAnswer a piece at a time (runtime/steps.ts), as a sync runs it: JSON.parse and the
 * outer shape are one piece each (JSON.parse of a 3 MB answer: 15-45 ms here), each entry
 * list's normalisation yields as it goes.
 */
export function* parsePolicyAnswerSteps(text: string): Steps<PolicyAnswer> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, message: 'policy answer is not JSON' };
  }
  yield;
  const wire = policyAnswerWire.safeParse(json);
  if (!wire.success) {
    const issue = wire.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'answer' : issue.path.map(String).join('.');
    return { ok: false, message: `policy answer malformed at ${where}: ${issue?.message ?? 'invalid'}` };
  }
  yield;
  const parsed = yield* parsePoliciesSteps(wire.data.policies, 'synced ');
  if (!parsed.ok) {
    const [first] = parsed.issues;
    const more = parsed.issues.length > 1 ? ` (and ${parsed.issues.length - 1} more)` : '';
    return { ok: false, message: `policies.${first?.path.join('.') ?? ''}: ${first?.message ?? 'invalid'}${more}` };
  }
  return { ok: true, policies: parsed.policies };
}
