import { performance } from 'node:perf_hooks';
import type { Action } from '../contract/action.js';
import type { Decision, Resolution } from '../contract/decision.js';
import type { Target } from '../contract/target.js';
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
  const { decision, resolution, report } = await decideUnreported(proxy, conn, action, target);
  report();
  return { decision, resolution };
}

/**
 * decideAction with the report left to the caller, who must call `report` exactly once: a tunnel
 * reports after its dial is under way, so the decision line and the observers are off the path
 * between the CONNECT and the destination's SYN (about 30 µs of a new tunnel's latency here).
 */
export async function decideUnreported(proxy: ProxyContext, conn: ConnectionContext, action: Action, target: Target): Promise<Decided & { readonly report: () => void }> {
  const started = performance.now();
  // Over its rate, the client is answered 429 before anything is resolved or asked for.
  const wait = proxy.clientRate?.take(proxy.authenticate === null ? conn.client : `agent ${proxy.agent}`) ?? null;
  if (wait !== null) {
    const limited = rateLimited(wait);
    return {
      decision: limited,
      resolution: NOT_RESOLVED,
      report: () => {
        reportDecided(proxy, conn, action, limited, 0);
      },
    };
  }
  const resolution = proxy.resolve(target);
  let decision: Decision;
  try {
    decision = await proxy.decider.decide({ action, agent: proxy.agent, resolution, port: target.port });
  } catch {
    conn.log.error({ code: 'KZP_ERR_DECIDER', target: action.target }, 'decider failed');
    decision = DECIDER_FAILED;
  }
  const ms = performance.now() - started;
  return {
    decision,
    resolution,
    report: () => {
      reportDecided(proxy, conn, action, decision, ms);
    },
  };
}
