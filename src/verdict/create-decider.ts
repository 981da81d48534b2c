import { performance } from 'node:perf_hooks';
import type { ProxyConfig } from '../config/types.js';
import type { Action } from '../contract/action.js';
import type { Decider, Decision, DecisionRequest, ImmediateDecider, NameRefusingDecider, Resolution, SettledDecisionRequest } from '../contract/decision.js';
import type { DeciderMetrics } from '../contract/decider-metrics.js';
import { noSpoolMetrics, type SpoolMetrics } from '../contract/spool-metrics.js';
import type { ErrorCode } from '../errors/codes.js';
import type { KaizenProxyError } from '../errors/kaizen-error.js';
import type { AddressGuard } from '../net/address-guard.js';
import { createKeyedRateGate } from '../observe/keyed-rate-gate.js';
import type { Logger } from '../observe/logger.js';
import { agentKeyPrefix, verdictCacheKey } from './cache-key.js';
import { createControlPlaneClient } from './control-plane-client.js';
import { decisionOf, failModeDecision } from './decision-of.js';
import { applyMode, type ModeSettings } from './enforcement-mode.js';
import { evaluateLocally, refusedLocallyByName } from './evaluate-locally.js';
import { allowAllPolicy, type LocalPolicy, type LocalVerdict } from './local-policy.js';
import { resolveVerdict } from './resolved-verdict.js';
import type { ReportSpool } from './spool/report-spool.js';
import { createReportOutbox } from './spool/report-outbox.js';
import { lazyStamp, stampAction } from './stamp-action.js';
import { createVerdictCache, type VerdictCache } from './verdict-cache.js';
import type { VerdictClient } from './verdict-client.js';

export interface CreateDeciderOptions {
  readonly config: ProxyConfig;
  readonly logger: Logger;
  readonly guard: AddressGuard;
  /** The local reflex; allow-all until Kaizen policies are plugged in. */
  readonly localPolicy?: LocalPolicy;
  /** Clock in ms for the verdict cache's TTLs (tests pass a fake one); performance.now by default. */
  readonly now?: () => number;
  /** Control-plane latency and errors, cache hits and misses (the admin /metrics endpoint). */
  readonly metrics?: DeciderMetrics;
  /** The control-plane client when the caller shares its pool (policy sync); built from config otherwise. Closed by close(). */
  readonly client?: VerdictClient;
  /** Enforce or monitor, read per decision so a reload applies at once; config.mode and config.monitorGuard otherwise. */
  readonly mode?: () => ModeSettings;
  /**
   * Where actions the control plane did not get go (opened by the caller under data_dir; closed by
   * close()). Without it they are counted as dropped and logged.
   */
  readonly spool?: ReportSpool | null;
  /** Spooled, replayed and dropped actions (the admin /metrics endpoint). */
  readonly spoolMetrics?: SpoolMetrics;
  /** Wait between replay probes while the control plane fails (tests shorten it); 1s doubling to 30s. */
  readonly replayBackoff?: { readonly minMs: number; readonly maxMs: number };
}

export interface KaizenDecider extends Decider, ImmediateDecider, NameRefusingDecider {
  /** Waits for verdict calls and block reports in flight (failures spooled), stops replay, closes the spool and the control-plane pool. */
  close(): Promise<void>;
  /** Forgets every cached verdict (hot reload). */
  clearCache(): void;
  /** Forgets `agent`'s cached verdicts (its synced policies changed, or it is no longer served); every other agent's stay. */
  clearAgentCache(agent: string): void;
  /** Verdicts held in the cache (0 without an account). */
  readonly cacheSize: number;
}

const FAIL_OPEN_LOG_INTERVAL_MS = 10_000;
const DNS_FAILED: Resolution = { ok: false, code: 'KZP_ERR_DNS', message: 'resolution failed' };

/** What the pipeline's steps read of a request (decide's and decideNow's alike). */
type Asking = Omit<DecisionRequest, 'resolution'>;

/** decideLocally's two answers: a Decision says what to enforce; a LocalVerdict does not. */
function isDecision(result: Decision | LocalVerdict): result is Decision {
  return 'enforce' in result;
}

/**
 * The decision pipeline: address guard → local policy → (with an API key) verdict cache → control
 * plane → stale-if-error → fail mode. Guard and local blocks are final and reported to the control
 * plane in the background. `decide` never rejects.
 */
export function createDecider(options: CreateDeciderOptions): KaizenDecider {
  const { config, guard } = options;
  const logger = options.logger.child({ component: 'decider' });
  const policy = options.localPolicy ?? allowAllPolicy;
  const apiKey = config.controlPlane.apiKey;
  const modeOf = options.mode ?? ((): ModeSettings => ({ mode: config.mode, monitorGuard: config.monitorGuard }));
  const client =
    options.client ??
    (apiKey === null
      ? null
      : createControlPlaneClient({ url: config.controlPlane.url, apiKey, timeoutMs: config.controlPlane.timeoutMs, logger: options.logger, upstreamProxy: config.upstreamProxy }));
  const outbox =
    client === null
      ? null
      : createReportOutbox({
          client,
          spool: options.spool ?? null,
          ratePerSecond: config.spool.replayRatePerSecond,
          logger: options.logger.child({ component: 'spool' }),
          metrics: options.spoolMetrics ?? noSpoolMetrics,
          ...(options.replayBackoff === undefined ? {} : { backoff: options.replayBackoff }),
        });
  /**
   * The errors of live calls the control plane has the report of all the same: refused for good, or
   * answered by a complete 2xx that is no readable verdict. The cache hands each waiter the error its
   * call threw (one object for lookups that shared the call), so their actions are not spooled.
   */
  const settledCalls = new WeakMap<KaizenProxyError, 'refused' | 'delivered'>();
  /**
   * Verdict lookups in flight: close() waits for them (each ends by the control plane's deadline),
   * since one that fails spools its action, and a drain cut short (its deadline, a second signal)
   * can end while a call still waits. Closed first, the spool dropped such an action.
   */
  const lookups = new Set<Promise<Decision>>();
  // Fail open's warning, once per error code per 10 s: each action's decision line says fail_open already.
  const failOpenGate = createKeyedRateGate(FAIL_OPEN_LOG_INTERVAL_MS, 64, options.now ?? (() => performance.now()));
  const cache =
    client === null
      ? null
      : createVerdictCache({
          maxEntries: config.cache.maxEntries,
          allowTtlMs: config.cache.allowTtlMs,
          blockTtlMs: config.cache.blockTtlMs,
          staleIfErrorMs: config.cache.staleIfErrorMs,
          ...(options.now === undefined ? {} : { now: options.now }),
          load: async (report) => {
            const started = performance.now();
            const result = await client.send(report, 'live');
            options.metrics?.controlPlaneCall((performance.now() - started) / 1000, result.ok ? null : result.error.code);
            if (!result.ok) {
              if (result.rejected === true) settledCalls.set(result.error, 'refused');
              else if (result.delivered === true) {
                // The control plane answered: no outage for replay to wait out, though no verdict.
                settledCalls.set(result.error, 'delivered');
                outbox?.answered();
              } else outbox?.failed(result);
              throw result.error;
            }
            outbox?.answered();
            return resolveVerdict(result.answer, report.verdict);
          },
        });

  function noVerdict(code: ErrorCode, request: Asking): Decision {
    if (config.fail === 'open') {
      const gate = failOpenGate.pass(code);
      if (gate.open) logger.warn({ code, agent: request.agent, target: request.action.target, suppressed: gate.suppressed }, 'no verdict: allowing because fail mode is open');
    }
    return failModeDecision(config.fail, code);
  }

  function blockLocally(request: Asking, reported: () => Action, verdict: LocalVerdict, source: 'guard' | 'local'): Decision {
    outbox?.report({ agent: request.agent, action: reported(), verdict });
    return decisionOf(verdict, source);
  }

  /**
   * The call for this action failed: spooled with the verdict enforced, unless the control plane
   * has the report all the same (`failure`): refused for good, which a replay could only repeat,
   * or answered by a 2xx no verdict could be read from, which a replay would only send twice.
   */
  function undelivered(request: Asking, reported: () => Action, decision: Decision, failure?: KaizenProxyError): Decision {
    const settled = failure === undefined ? undefined : settledCalls.get(failure);
    if (settled === 'refused') outbox?.refused();
    if (settled !== undefined) return decision;
    outbox?.undelivered({ agent: request.agent, action: reported(), verdict: { decision: decision.decision, reason: decision.reason, evidence: decision.evidence } });
    return decision;
  }

  /**
   * Guard, then local policy, on the resolution: a final decision (a block, or the local verdict
   * without an account), or the local verdict for the verdict cache and the control plane.
   */
  function decideLocally(request: Asking, reported: () => Action, resolution: Resolution): Decision | LocalVerdict {
    const addresses = resolution.ok ? resolution.addresses : [];
    if (resolution.ok) {
      const guarded = guard.checkAll(addresses, request.port);
      if (!guarded.ok) {
        const evidence = [{ kind: 'address', value: guarded.address, source: 'guard' }];
        return blockLocally(request, reported, { decision: 'block', reason: guarded.reason, evidence }, 'guard');
      }
    }
    const local = evaluateLocally(policy, request.action, addresses, request.agent, logger);
    if (local.decision === 'block') return blockLocally(request, reported, local, 'local');
    if (cache === null) return decisionOf(local, 'local');
    return local;
  }

  async function pipeline(request: DecisionRequest, reported: () => Action): Promise<Decision> {
    // A rejected resolution is a transport bug; like a DNS failure it leaves nothing to dial.
    const resolution = await request.resolution.catch(() => DNS_FAILED);
    const local = decideLocally(request, reported, resolution);
    if (isDecision(local)) return local;
    if (cache === null) return decisionOf(local, 'local'); // decideLocally has decided already: no account

    const asking = ask(cache, request, reported, local);
    lookups.add(asking);
    try {
      return await asking;
    } finally {
      lookups.delete(asking);
    }
  }

  /** The verdict cache and, on a miss, the control plane; a failed call's action is spooled before this settles. */
  async function ask(cache: VerdictCache, request: DecisionRequest, reported: () => Action, local: LocalVerdict): Promise<Decision> {
    const { action, agent } = request;
    const found = await cache.lookup(verdictCacheKey(agent, action), () => ({ agent, action: reported(), verdict: local }));
    options.metrics?.cacheLookup(found.kind === 'fresh' ? (found.fetched ? 'miss' : 'hit') : found.kind);
    switch (found.kind) {
      case 'fresh':
        return decisionOf(found.verdict, found.fetched ? found.verdict.origin : 'cache');
      case 'stale':
        return undelivered(request, reported, decisionOf(found.verdict, 'stale'), found.error);
      case 'failed':
        return undelivered(request, reported, noVerdict(found.error.code, request), found.error);
    }
  }

  /** decide() when nothing needs waiting for: see ImmediateDecider. */
  function decideNow(request: SettledDecisionRequest): Decision | undefined {
    const reported = lazyStamp(request.action);
    let decision: Decision;
    try {
      const local = decideLocally(request, reported, request.resolved);
      if (isDecision(local)) decision = local;
      else {
        const verdict = cache?.fresh(verdictCacheKey(request.agent, request.action));
        // Not held, or expired: the control plane (or stale-if-error) decides, through decide().
        if (verdict === undefined) return undefined;
        options.metrics?.cacheLookup('hit');
        decision = decisionOf(verdict, 'cache');
      }
    } catch (error) {
      decision = pipelineFailed(error, request, reported);
    }
    return applyMode(decision, modeOf());
  }

  /**
   * Before the lookup (NameRefusingDecider): a local block the name already earns, reported and
   * final, in enforce mode. Monitor mode forwards it, so it is looked up and decided as usual.
   */
  function refuseByName(action: Action, agent: string): Decision | undefined {
    const verdict = refusedLocallyByName(policy, action, agent, logger);
    if (verdict === undefined || verdict.decision !== 'block' || modeOf().mode !== 'enforce') return undefined;
    outbox?.report({ agent, action: stampAction(action, new Date()), verdict });
    return decisionOf(verdict, 'local');
  }

  /** A throw inside the pipeline (a bug): logged, no verdict, the fail mode decides and the action is spooled. */
  function pipelineFailed(error: unknown, request: Asking, reported: () => Action): Decision {
    logger.error({ err: error, code: 'KZP_ERR_DECIDER', target: request.action.target }, 'decision pipeline failed');
    return undelivered(request, reported, noVerdict('KZP_ERR_DECIDER', request));
  }

  return {
    decideNow,
    refuseByName,
    async decide(request) {
      const reported = lazyStamp(request.action);
      let decision: Decision;
      try {
        decision = await pipeline(request, reported);
      } catch (error) {
        decision = pipelineFailed(error, request, reported);
      }
      return applyMode(decision, modeOf());
    },
    clearCache() {
      cache?.clear();
    },
    clearAgentCache(agent) {
      cache?.clearPrefix(agentKeyPrefix(agent));
    },
    get cacheSize() {
      return cache?.size ?? 0;
    },
    async close() {
      // A call still waiting ends by its own deadline (control_plane.timeout); a failed one spools its action, so the spool waits for it.
      // Replay stops at once rather than after that wait: a probe started in it would hold the close
      // for one more control_plane.timeout.
      const replayStopped = outbox?.stopReplay();
      while (lookups.size > 0) await Promise.allSettled(lookups);
      await replayStopped;
      await outbox?.close();
      await client?.close();
    },
  };
}
