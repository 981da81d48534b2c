import { describe, expect, it } from 'vitest';
import type { Action } from '../../../../src/contract/action.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { ENTRIES_PER_STEP, finish, type Steps } from '../../../../src/runtime/steps.js';
import { parsePolicyAnswer, parsePolicyAnswerSteps } from '../../../../src/verdict/policy/policy-answer.js';
import { createPolicyEngine } from '../../../../src/verdict/policy/policy-engine.js';

/**
 * A synced answer of a threat feed's size is parsed and compiled a piece at a time (the sync paces
 * it beside the data plane): the pieces give the same policies and matchers as one run would, and
 * nothing is in force before the commit.
 */
const logger = createLogger({ level: 'silent' });
const connect = (target: string): Action => ({ kind: 'connect', target, metadata: { source: 'egress' } });
const FEED = 10_000;
const domains = Array.from({ length: FEED }, (_, i) => `Feed-${i}.Example.`);
const ips = Array.from({ length: FEED }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`);
const answer = JSON.stringify({ policies: [{ name: 'feed', mode: 'blocklist', rules: { domains, ips } }] });

/** Runs `steps` to the end, counting the yields. */
function piecesOf<T>(steps: Steps<T>): { readonly value: T; readonly yields: number } {
  let yields = 0;
  for (;;) {
    const next = steps.next();
    if (next.done === true) return { value: next.value, yields };
    yields += 1;
  }
}

describe('a large synced answer, a piece at a time', () => {
  it('parsing yields as it goes through the lists and gives what one run gives', () => {
    const { value, yields } = piecesOf(parsePolicyAnswerSteps(answer));
    // Two lists of 10,000 entries: at least one yield per ENTRIES_PER_STEP of each.
    expect(yields).toBeGreaterThanOrEqual(2 * Math.floor(FEED / ENTRIES_PER_STEP));
    expect(value).toEqual(parsePolicyAnswer(answer));
    if (!value.ok) throw new Error(value.message);
    expect(value.policies[0]?.rules.domains?.slice(0, 2)).toEqual(['feed-0.example', 'feed-1.example']);
    expect(value.policies[0]?.rules.ip?.length).toBe(FEED);
  });

  it('duplicates within a list are dropped, each entry keeping its first place', () => {
    const parsed = parsePolicyAnswer(JSON.stringify({ policies: [{ mode: 'blocklist', rules: { domains: ['b.example', 'A.example', 'b.example.', 'a.example'] } }] }));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.policies[0]?.rules.domains).toEqual(['b.example', 'a.example']);
  });

  it('compiling yields as it goes; nothing is in force until the commit, then the whole set is', () => {
    const parsed = parsePolicyAnswer(answer);
    if (!parsed.ok) throw new Error(parsed.message);
    const engine = createPolicyEngine({ logger });
    const last = `feed-${FEED - 1}.example:443`;
    const { value: prepared, yields } = piecesOf(engine.prepareSyncedPolicies('bot', parsed.policies));
    expect(yields).toBeGreaterThanOrEqual(2 * Math.floor(FEED / ENTRIES_PER_STEP));
    expect(prepared).not.toBeNull();
    expect(engine.evaluate(connect(last), [], 'bot').decision).toBe('allow');
    expect(engine.counts('bot').synced).toBe(0);
    if (prepared === null) return;
    engine.commitSyncedPolicies(prepared);
    expect(engine.counts('bot').synced).toBe(1);
    expect(engine.evaluate(connect(last), [], 'bot').reason).toBe('blocked by local policy synced "feed" (domains)');
    expect(engine.evaluate(connect('10.39.15.7:443'), [], 'bot').decision).toBe('block');
    expect(engine.evaluate(connect('10.40.0.1:443'), [], 'bot').decision).toBe('allow');
    expect(engine.evaluate(connect('feed-0.example:443'), [], 'other-agent').decision).toBe('allow');
    // The same set again: nothing to prepare.
    expect(finish(engine.prepareSyncedPolicies('bot', parsed.policies))).toBeNull();
  });
});
