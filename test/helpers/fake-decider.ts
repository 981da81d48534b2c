import { EventEmitter } from 'node:events';
import type { Decider, Decision, DecisionRequest, DecisionSource, Resolution } from '../../src/contract/decision.js';

/**
 * A real Decider for transport tests: the transport's contract is this interface, so a small
 * policy is a legitimate double. Rules match the action's target ("host:port") or its host.
 * Everything not listed is allowed (source "local").
 */
export interface FakeDeciderRules {
  /** Verdict block (403, KZP_ERR_BLOCKED). */
  readonly block?: readonly string[];
  /** Address guard refusal (403, KZP_ERR_GUARD). */
  readonly guard?: readonly string[];
  /** No verdict, fail closed (503, KZP_ERR_NO_VERDICT). */
  readonly failClosed?: readonly string[];
  /** Monitor mode: the verdict is block but the action is forwarded and flagged `would_block`. */
  readonly monitor?: readonly string[];
  /** Decisions for these targets/hosts wait until `until` settles (a request held in flight). */
  readonly hold?: { readonly targets: readonly string[]; readonly until: Promise<void> };
}

export interface FakeDecider extends Decider {
  /** Every request, in order, with the resolution the transport started. */
  readonly calls: DecisionRequest[];
  /** Resolutions as the decider saw them (awaited before deciding, like the real guard). */
  readonly resolutions: Resolution[];
  /** Resolves with the first call (made or still to come) whose action matches. */
  waitForCall(predicate: (request: DecisionRequest) => boolean): Promise<DecisionRequest>;
}

export function createFakeDecider(rules: FakeDeciderRules = {}): FakeDecider {
  const calls: DecisionRequest[] = [];
  const resolutions: Resolution[] = [];
  const events = new EventEmitter();
  const matches = (list: readonly string[] | undefined, target: string): boolean => {
    if (list === undefined) return false;
    const host = target.startsWith('[') ? target.slice(1, target.indexOf(']')) : target.slice(0, target.lastIndexOf(':'));
    return list.includes(target) || list.includes(host);
  };
  return {
    calls,
    resolutions,
    waitForCall(predicate) {
      const found = calls.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => {
        const listener = (request: DecisionRequest): void => {
          if (!predicate(request)) return;
          events.off('call', listener);
          resolve(request);
        };
        events.on('call', listener);
      });
    },
    async decide(request: DecisionRequest): Promise<Decision> {
      calls.push(request);
      events.emit('call', request);
      resolutions.push(await request.resolution);
      if (rules.hold !== undefined && matches(rules.hold.targets, request.action.target)) await rules.hold.until;
      const target = request.action.target;
      if (matches(rules.guard, target)) return refused('guard', 'destination address is private', null);
      if (matches(rules.failClosed, target)) return refused('fail_closed', 'control plane unreachable; failing closed', null);
      if (matches(rules.block, target)) return refused('control_plane', `policy forbids ${target}`, 'v-test-block');
      if (matches(rules.monitor, target)) return { ...refused('control_plane', `would forbid ${target}`, 'v-test-monitor'), enforce: 'forward', wouldBlock: true };
      return {
        decision: 'allow',
        enforce: 'forward',
        reason: 'allowed by test policy',
        evidence: [],
        source: 'local',
        verdictId: null,
        flagged: false,
        wouldBlock: false,
      };
    },
  };
}

function refused(source: DecisionSource, reason: string, verdictId: string | null): Decision {
  return {
    decision: 'block',
    enforce: 'refuse',
    reason,
    evidence: [{ kind: 'target', value: 'test', source: 'fake-decider' }],
    source,
    verdictId,
    flagged: false,
    wouldBlock: false,
  };
}
