import { performance } from 'node:perf_hooks';
import type { ProxyConfig } from '../config/types.js';
import type { Decider, Decision, DecisionRequest, Resolution } from '../contract/decision.js';
import type { DeciderMetrics } from '../contract/decider-metrics.js';
import type { ErrorCode } from '../errors/codes.js';
import type { AddressGuard } from '../net/address-guard.js';
import type { Logger } from '../observe/logger.js';
import { createBlockReporter } from './block-reporter.js';
import { verdictCacheKey } from './cache-key.js';
import { createControlPlaneClient } from './control-plane-client.js';
import { decisionOf, failModeDecision } from './decision-of.js';
import { applyMode, type ModeSettings } from './enforcement-mode.js';
import { evaluateLocally } from './evaluate-locally.js';
import { allowAllPolicy, type LocalPolicy, type LocalVerdict } from './local-policy.js';
import { resolveVerdict } from './resolved-verdict.js';
import { createVerdictCache } from './verdict-cache.js';
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
}

export interface KaizenDecider extends Decider {
  /** Waits for block reports in flight, then closes the control-plane connection pool. */
  close(): Promise<void>;
  /** Forgets every cached verdict (hot reload). */
  clearCache(): void;
  /** Verdicts held in the cache (0 without an account). */
  readonly cacheSize: number;
}

const DNS_FAILED: Resolution = { ok: false, code: 'KZP_ERR_DNS', message: 'resolution failed' };

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
      : createControlPlaneClient({ url: config.controlPlane.url, apiKey, timeoutMs: config.controlPlane.timeoutMs, logger: options.logger }));
  const reporter = client === null ? null : createBlockReporter({ client, logger });
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
            const result = await client.send(report);
            options.metrics?.controlPlaneCall((performance.now() - started) / 1000, result.ok ? null : result.error.code);
            if (!result.ok) throw result.error;
            return resolveVerdict(result.answer, report.verdict);
          },
        });

  function noVerdict(code: ErrorCode, request: DecisionRequest): Decision {
    if (config.fail === 'open') {
      logger.warn({ code, agent: request.agent, target: request.action.target }, 'no verdict: allowing because fail mode is open');
    }
    return failModeDecision(config.fail, code);
  }

  function blockLocally(request: DecisionRequest, verdict: LocalVerdict, source: 'guard' | 'local'): Decision {
    reporter?.report({ agent: request.agent, action: request.action, verdict });
    return decisionOf(verdict, source);
  }

  async function pipeline(request: DecisionRequest): Promise<Decision> {
    const { action, agent } = request;
    // A rejected resolution is a transport bug; like a DNS failure it leaves nothing to dial.
    const resolution = await request.resolution.catch(() => DNS_FAILED);
    const addresses = resolution.ok ? resolution.addresses : [];
    if (resolution.ok) {
      const guarded = guard.checkAll(addresses, request.port);
      if (!guarded.ok) {
        const evidence = [{ kind: 'address', value: guarded.address, source: 'guard' }];
        return blockLocally(request, { decision: 'block', reason: guarded.reason, evidence }, 'guard');
      }
    }

    const local = evaluateLocally(policy, action, addresses, logger);
    if (local.decision === 'block') return blockLocally(request, local, 'local');
    if (cache === null) return decisionOf(local, 'local');

    const found = await cache.lookup(verdictCacheKey(agent, action), { agent, action, verdict: local });
    options.metrics?.cacheLookup(found.kind === 'fresh' ? (found.fetched ? 'miss' : 'hit') : found.kind);
    switch (found.kind) {
      case 'fresh':
        return decisionOf(found.verdict, found.fetched ? found.verdict.origin : 'cache');
      case 'stale':
        return decisionOf(found.verdict, 'stale');
      case 'failed':
        return noVerdict(found.error.code, request);
    }
  }

  return {
    async decide(request) {
      let decision: Decision;
      try {
        decision = await pipeline(request);
      } catch (error) {
        logger.error({ err: error, code: 'KZP_ERR_DECIDER', target: request.action.target }, 'decision pipeline failed');
        decision = noVerdict('KZP_ERR_DECIDER', request);
      }
      return applyMode(decision, modeOf());
    },
    clearCache() {
      cache?.clear();
    },
    get cacheSize() {
      return cache?.size ?? 0;
    },
    async close() {
      await reporter?.drain();
      await client?.close();
    },
  };
}
