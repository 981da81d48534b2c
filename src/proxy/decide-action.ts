import { performance } from 'node:perf_hooks';
import type { Action } from '../contract/action.js';
import type { Decision, Resolution, SettledDecisionRequest } from '../contract/decision.js';
import type { Target } from '../contract/target.js';
import { agentClient } from './client-rate.js';
import type { ConnectionContext } from './connection-registry.js';
import { reportDecided } from './exchange-events.js';
import type { ProxyContext } from './proxy-context.js';

export interface Decided {
  readonly decision: Decision;
  /** Started before the verdict was asked for; the transport dials only these addresses. */
  readonly resolution: Promise<Resolution>;
}

/** What a Decider that broke its contract (threw) amounts to: no verdict, fail closed. */
const DECIDER_FAILED: Decision = {
  decision: 'block',
  enforce: 'refuse',
  reason: 'the decision pipeline failed; failing closed',
  evidence: [],
  source: 'fail_closed',
  verdictId: null,
  flagged: false,
  wouldBlock: false,
};

/** What a rate-limited action carries instead of addresses: nothing was looked up, nothing may be dialled. */
const NOT_RESOLVED: Promise<Resolution> = Promise.resolve({ ok: false, code: 'KZP_ERR_DNS', message: 'not resolved: the client is over limits.client_rate' });

/** What an action its name already refuses carries instead: nothing was looked up, nothing may be dialled. */
const NOT_LOOKED_UP: Resolution = { ok: false, code: 'KZP_ERR_DNS', message: 'not resolved: refused by its name' };

function rateLimited(retryAfterSeconds: number): Decision {
  return {
    decision: 'block',
    enforce: 'refuse',
    reason: 'client_rate',
    evidence: [{ kind: 'retry_after', value: String(retryAfterSeconds), source: 'kaizen-proxy' }],
    source: 'limit',
    verdictId: null,
    flagged: false,
    wouldBlock: false,
  };
}

/**
 * Resolve and decide one action: DNS starts first and overlaps the verdict; nothing is dialled
 * here. Reports the decision (the one decision line, the observer). Never rejects.
 */
export async function decideAction(proxy: ProxyContext, conn: ConnectionContext, action: Action, target: Target): Promise<Decided> {
  const eager = decideEagerly(proxy, conn, action, target);
  const settled = eager instanceof Promise ? await eager : eager;
  return { decision: settled.decision, resolution: settled.resolution ?? Promise.resolve(settled.resolved) };
}

/** A decision, reported: with the resolution's value when it was known at once, else the promise of it. */
export type EagerDecision = { readonly decision: Decision } & (
  | { readonly resolved: Resolution; readonly resolution: null }
  | { readonly resolved: null; readonly resolution: Promise<Resolution> }
);

/**
 * decideAction, answered at once, not as a Promise, when the destination's addresses are already
 * known (an IP literal, a cached name) and the Decider can decide without waiting (a local verdict,
 * a fresh cached one: ImmediateDecider): a plain request or a new tunnel to a known destination
 * then costs no promise and no microtask (bench/profile.mjs http with V8's sampling heap profiler:
 * 958 MB allocated for 55,000 requests against 1,110 MB through the async path). Otherwise a
 * Promise. A name that must be looked up is first offered to the Decider's refuseByName
 * (NameRefusingDecider): a destination its name alone refuses is answered at once, not resolved.
 * The decision is reported (the decision line, the observer) as it is made, before the caller
 * dials anything. Never rejects.
 */
export function decideEagerly(proxy: ProxyContext, conn: ConnectionContext, action: Action, target: Target): EagerDecision | Promise<EagerDecision> {
  const started = performance.now();
  // Over its rate, the client is answered 429 before anything is resolved or asked for.
  const wait = proxy.clientRate?.take(proxy.authenticate === null ? (conn.client ?? '') : agentClient(proxy.agent)) ?? null;
  if (wait !== null) {
    const limited = rateLimited(wait);
    reportDecided(proxy, conn, action, limited, 0);
    return { decision: limited, resolved: null, resolution: NOT_RESOLVED };
  }
  const resolved = proxy.resolveNow(target);
  if (resolved === undefined) {
    // A lookup is needed: unless the name alone already refuses the action (a local `domains`
    // rule), so that a refused name never reaches DNS (nor the nameserver of the domain it is under).
    const refused = proxy.decider.refuseByName === undefined ? undefined : refuseByNameSafely(proxy, conn, action);
    if (refused !== undefined) {
      reportDecided(proxy, conn, action, refused, performance.now() - started);
      return { decision: refused, resolved: NOT_LOOKED_UP, resolution: null };
    }
    return decideLater(proxy, conn, action, target, proxy.resolve(target), started);
  }
  if (proxy.decider.decideNow !== undefined) {
    const decision = decideNowSafely(proxy, conn, { action, agent: proxy.agent, resolved, port: target.port });
    if (decision !== undefined) {
      reportDecided(proxy, conn, action, decision, performance.now() - started);
      return { decision, resolved, resolution: null };
    }
  }
  return decideLater(proxy, conn, action, target, Promise.resolve(resolved), started);
}

async function decideLater(proxy: ProxyContext, conn: ConnectionContext, action: Action, target: Target, resolution: Promise<Resolution>, started: number): Promise<EagerDecision> {
  let decision: Decision;
  try {
    decision = await proxy.decider.decide({ action, agent: proxy.agent, resolution, port: target.port });
  } catch {
    conn.log.error({ code: 'KZP_ERR_DECIDER', target: action.target }, 'decider failed');
    decision = DECIDER_FAILED;
  }
  reportDecided(proxy, conn, action, decision, performance.now() - started);
  return { decision, resolved: null, resolution };
}

/** refuseByName is not to throw; one that does is treated as decide() throwing: no verdict, fail closed, nothing looked up. */
function refuseByNameSafely(proxy: ProxyContext, conn: ConnectionContext, action: Action): Decision | undefined {
  try {
    return proxy.decider.refuseByName?.(action, proxy.agent);
  } catch {
    conn.log.error({ code: 'KZP_ERR_DECIDER', target: action.target }, 'decider failed');
    return DECIDER_FAILED;
  }
}

/** decideNow is not to throw; one that does is treated as decide() throwing: no verdict, fail closed. */
function decideNowSafely(proxy: ProxyContext, conn: ConnectionContext, request: SettledDecisionRequest): Decision | undefined {
  try {
    return proxy.decider.decideNow?.(request);
  } catch {
    conn.log.error({ code: 'KZP_ERR_DECIDER', target: request.action.target }, 'decider failed');
    return DECIDER_FAILED;
  }
}
