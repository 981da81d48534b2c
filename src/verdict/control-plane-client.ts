import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { createKeyedRateGate } from '../observe/keyed-rate-gate.js';
import type { Logger } from '../observe/logger.js';
import type { UpstreamProxySettings } from '../net/upstream-proxy.js';
import { VERSION } from '../version.js';
import { parseAnswer } from './answer-schema.js';
import { readAnswerBody, type AnswerBody } from './answer-body.js';
import { startDeadline, type Deadline } from './deadline.js';
import { isLoopbackUrl } from './loopback-url.js';
import { createRateGate } from './rate-gate.js';
import { createRequestSlots, RequestNotSent, type Traffic } from './request-slots.js';
import { parseRetryAfter } from './retry-after.js';
import { classifyTransportError } from './transport-failure.js';
import type { PolicyClient } from './policy/policy-client.js';
import { controlPlaneUpstream, createControlPlaneDispatcher } from './control-plane-dispatcher.js';
import { pushManifest, type ManifestClient } from './manifest-push.js';
import { fetchPolicies, type PolicyRoute } from './policy-fetch.js';
import type { ControlPlaneResult, VerdictClient, VerdictReport } from './verdict-client.js';

export interface ControlPlaneClientOptions {
  /** Base URL, e.g. https://api.getkaizen.io (a path prefix is kept, trailing slashes dropped). */
  readonly url: string;
  readonly apiKey: string;
  /** Hard deadline for one verdict exchange, the one retry included. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Clock for the auth-error rate limit (ms); performance.now by default. */
  readonly now?: () => number;
  /** The upstream proxy (upstream_proxy): the control plane is reached through it unless upstream_no_proxy names it. */
  readonly upstreamProxy?: UpstreamProxySettings | null;
}

/** Sockets kept to the control plane: enough for bursts of distinct new hosts, never one per action. */
const MAX_CONNECTIONS = 64;
/**
 * Of those, what block reports and spool replay may hold at once (request-slots.ts): the other 48
 * stay free for live verdicts whatever the background does, and a freed slot goes to a waiting
 * live verdict first.
 */
const BACKGROUND_SLOTS = 16;
/** A verdict answer is a few hundred bytes; anything past this is not one, and is read no further. */
const MAX_ANSWER_BYTES = 256 * 1024;
/** A policy answer can list many domains and ranges; the pool's response cap is set for it (verdict answers stop at MAX_ANSWER_BYTES). */
const MAX_POLICY_BYTES = 4 * 1024 * 1024;

/** One client, one pool: verdicts (the decider) and policies (the sync) share the connection and the key. */
export type ControlPlaneClient = VerdictClient & PolicyClient & ManifestClient;
const AUTH_LOG_INTERVAL_MS = 60_000;
/** A refused report is logged at most this often: one line names the problem, a flood of them says nothing more. */
const REFUSED_LOG_INTERVAL_MS = 60_000;
/**
 * Other failures (timeouts, 5xx, resets), and answers with fields ignored (per list of fields): one
 * warning per error code per 10 s, the next one saying how many were held back. Each action's own
 * decision line still says it got no verdict; an outage with many destinations uncached would
 * otherwise write a second line for every one of them.
 */
const FAILURE_LOG_INTERVAL_MS = 10_000;
/**
 * The statuses that refuse the report itself (its body), or say it is already there (409, a
 * duplicate event_id): sending it again cannot help, and holding it would hold every entry behind it
 * for good. Any other 4xx says something about the control plane, not the entry (404, 405, 410: a
 * route missing while an ingress deploys, a wrong path prefix) and is a failure like a 5xx.
 */
const REFUSES_REPORT: ReadonlySet<number> = new Set([400, 409, 413, 415, 422]);

type Attempt =
  | { readonly kind: 'final'; readonly result: ControlPlaneResult }
  /** `retryAfterMs`: the answer's Retry-After, undefined without one (the retry then goes at once). */
  | { readonly kind: 'retry'; readonly retryAfterMs: number | undefined; readonly error: KaizenProxyError }
  /** No request slot before the deadline (request-slots.ts): nothing of this attempt was sent. */
  | { readonly kind: 'unsent' };

/** The exchange gave up after `last`: its Retry-After goes with the failure, for the spool replay. */
function gaveUp(last: { readonly retryAfterMs: number | undefined; readonly error: KaizenProxyError }, error: KaizenProxyError = last.error): ControlPlaneResult {
  return last.retryAfterMs === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs: last.retryAfterMs };
}

/**
 * The control-plane client: `POST {url}/v1/verdicts` over an undici keep-alive Pool, one retry on
 * 5xx, 429 (Retry-After honoured when it fits) or a reset, all inside one deadline. Never throws and
 * never lets an undici error out; never logs the API key or a body.
 */
export function createControlPlaneClient(options: ControlPlaneClientOptions): ControlPlaneClient {
  const base = parseBaseUrl(options.url);
  const logger = options.logger.child({ component: 'control_plane' });
  const now = options.now ?? (() => performance.now());
  const authGate = createRateGate(AUTH_LOG_INTERVAL_MS, now);
  const refusedGate = createRateGate(REFUSED_LOG_INTERVAL_MS, now);
  // Keyed by error code: a few dozen at most.
  const failureGate = createKeyedRateGate(FAILURE_LOG_INTERVAL_MS, 64, now);
  const prefix = base.pathname.replace(/\/+$/, '');
  const path = `${prefix}/v1/verdicts`;
  const headers = {
    authorization: `Bearer ${options.apiKey}`,
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': `kaizen-proxy/${VERSION}`,
  };
  const upstream = controlPlaneUpstream(base, options.upstreamProxy ?? null);
  const pool = createControlPlaneDispatcher(base, upstream, {
    connections: MAX_CONNECTIONS,
    keepAliveTimeoutMs: 30_000,
    timeoutMs: options.timeoutMs,
    maxResponseSize: MAX_POLICY_BYTES,
  });
  // Verdicts, reports and policies wait for a connection here, not in undici's queue: see request-slots.ts.
  const slots = createRequestSlots(pool, MAX_CONNECTIONS, BACKGROUND_SLOTS);
  if (upstream !== null) logger.info({ upstream_proxy: upstream.url }, 'control plane reached through the upstream proxy');
  let closed = false;

  if (base.protocol === 'http:' && !isLoopbackUrl(base)) {
    logger.warn(
      { control_plane: base.origin },
      'control plane URL is plain http:// beyond loopback: the API key and verdicts travel unencrypted',
    );
  }

  const failure = (code: ErrorCode, message: string): KaizenProxyError => new KaizenProxyError(code, message);

  async function attempt(payload: string, deadline: Deadline, traffic: Traffic): Promise<Attempt> {
    let response: Dispatcher.ResponseData;
    try {
      response = await slots.request({ origin: base.origin, method: 'POST', path, headers, body: payload }, deadline.signal, traffic);
    } catch (error) {
      return transportAttempt(error, 'request', deadline);
    }
    const { statusCode, body } = response;
    if (statusCode >= 200 && statusCode < 300) {
      let read: AnswerBody;
      try {
        read = await readAnswerBody(body, MAX_ANSWER_BYTES);
      } catch (error) {
        // Cut short before it was whole or known too large: not delivered (see transport-failure.ts).
        return transportAttempt(error, 'body', deadline);
      }
      // Any 2xx delivered the report: an unreadable body is no verdict, yet a replay is acknowledged.
      // One too large is known so once past MAX_ANSWER_BYTES, whatever its size: nothing more is read.
      const parsed = read.kind === 'too_large' ? { ok: false as const, message: 'answer too large for a verdict' } : parseAnswer(read.text);
      if (!parsed.ok) return { kind: 'final', result: { ok: false, error: failure('KZP_ERR_CONTROL_PLANE_ANSWER', parsed.message), delivered: true } };
      return { kind: 'final', result: parsed.ignored.length === 0 ? { ok: true, answer: parsed.answer } : { ok: true, answer: parsed.answer, ignored: parsed.ignored } };
    }
    await body.dump().catch(() => undefined);
    if (statusCode === 401 || statusCode === 403) {
      return { kind: 'final', result: { ok: false, error: failure('KZP_ERR_CONTROL_PLANE_AUTH', `control plane refused the API key (${statusCode})`) } };
    }
    const error = failure('KZP_ERR_CONTROL_PLANE_HTTP', `control plane answered ${statusCode}`);
    if (REFUSES_REPORT.has(statusCode)) return { kind: 'final', result: { ok: false, error, rejected: true } };
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now());
    if (statusCode === 429 || statusCode >= 500) return { kind: 'retry', retryAfterMs, error };
    // Not retried here (404, 405, 410: a route missing), but it holds the spool like an outage, and a
    // Retry-After it names holds the replay as a 429's does.
    return { kind: 'final', result: gaveUp({ retryAfterMs, error }) };
  }

  function transportAttempt(error: unknown, phase: 'request' | 'body', deadline: Deadline): Attempt {
    if (deadline.signal.aborted) return error instanceof RequestNotSent ? { kind: 'unsent' } : { kind: 'final', result: timedOut() };
    const classified = classifyTransportError(error, phase);
    const reduced = failure(classified.code, `control plane ${phase === 'body' ? 'answer cut short' : 'unreachable'} (${classified.detail})`);
    return classified.retryable ? { kind: 'retry', retryAfterMs: undefined, error: reduced } : { kind: 'final', result: { ok: false, error: reduced } };
  }

  const timedOut = (): ControlPlaneResult => ({
    ok: false,
    error: failure('KZP_ERR_CONTROL_PLANE_TIMEOUT', `control plane did not answer within ${options.timeoutMs}ms`),
  });
  // Waited in the client's queue until the deadline (every slot, or background traffic's share, in use): never sent.
  const notSent = (): ControlPlaneResult => ({
    ok: false,
    error: failure('KZP_ERR_CONTROL_PLANE_TIMEOUT', `control plane request not sent: no free request slot within ${options.timeoutMs}ms`),
  });

  async function exchange(payload: string, traffic: Traffic): Promise<ControlPlaneResult> {
    const deadline = startDeadline(options.timeoutMs);
    try {
      const first = await attempt(payload, deadline, traffic);
      if (first.kind === 'unsent') return notSent();
      if (first.kind === 'final') return first.result;
      const afterMs = first.retryAfterMs ?? 0;
      if (afterMs >= deadline.remaining()) {
        return gaveUp(first, failure(first.error.code, `${first.error.message}; Retry-After ${afterMs}ms does not fit the deadline`));
      }
      logger.debug({ code: first.error.code, retry_after_ms: afterMs }, 'control plane call failed, retrying once');
      if (afterMs > 0) {
        try {
          await sleep(afterMs, undefined, { signal: deadline.signal });
        } catch {
          return timedOut();
        }
      }
      const second = await attempt(payload, deadline, traffic);
      // The retry never got a request slot: the failure of the attempt that was sent stands, with
      // its Retry-After, as when a retry does not fit the deadline (not "not sent": one was).
      if (second.kind === 'unsent') return gaveUp(first);
      return second.kind === 'final' ? second.result : gaveUp(second);
    } finally {
      deadline.dispose();
    }
  }

  function observe(result: ControlPlaneResult, report: VerdictReport): void {
    const fields = { agent: report.agent, kind: report.action.kind, target: report.action.target };
    if (result.ok) {
      const gate = result.ignored === undefined ? null : failureGate.pass(`ignored:${result.ignored.join(',')}`);
      if (gate?.open === true) {
        logger.warn({ ...fields, ignored_fields: result.ignored, verdict_id: result.answer.verdictId, suppressed: gate.suppressed }, 'control plane answer has fields of the wrong type or shape: ignored them, kept its decision');
      }
      if (result.answer.kind === 'verdict' && result.answer.flagged) {
        logger.warn({ ...fields, reported_decision: result.answer.reported, verdict_id: result.answer.verdictId }, 'control plane answered a decision other than allow or block: allowing and flagging');
      }
      return;
    }
    const { code, message } = result.error;
    if (code === 'KZP_ERR_CONTROL_PLANE_AUTH') {
      const gate = authGate.pass();
      if (gate.open) logger.error({ ...fields, code, suppressed: gate.suppressed }, `${message}: check KAIZEN_API_KEY; no verdicts until it is fixed`);
      return;
    }
    if (result.rejected === true) {
      const gate = refusedGate.pass();
      if (gate.open) {
        logger.error(
          { ...fields, code: 'KZP_ERR_CONTROL_PLANE_REFUSED', error: code, suppressed: gate.suppressed },
          `${message}: the control plane refuses the report itself, so it is dropped, neither spooled nor sent again`,
        );
      }
      return;
    }
    const gate = failureGate.pass(code);
    if (gate.open) logger.warn({ ...fields, code, suppressed: gate.suppressed }, message);
  }

  const policyRoute: PolicyRoute = { slots, origin: base.origin, prefix, headers };
  return {
    fetchPolicies(agent, etag, timeoutMs, stop) {
      if (closed) return Promise.resolve({ ok: false, error: failure('KZP_ERR_CONTROL_PLANE_NETWORK', 'control plane client is closed') });
      return fetchPolicies(policyRoute, agent, etag, timeoutMs, stop);
    },
    async pushManifest(agent, manifest, timeoutMs) {
      if (closed) return { ok: false, error: failure('KZP_ERR_CONTROL_PLANE_NETWORK', 'control plane client is closed'), status: null, body: '' };
      return pushManifest({ dispatcher: pool, origin: base.origin, prefix, headers }, agent, manifest, timeoutMs);
    },
    async send(report, traffic = 'live') {
      if (closed) return { ok: false, error: failure('KZP_ERR_CONTROL_PLANE_NETWORK', 'control plane client is closed') };
      const payload = JSON.stringify({
        schema_version: '1',
        agent: report.agent,
        action: report.action,
        verdict: { decision: report.verdict.decision, reason: report.verdict.reason, evidence: report.verdict.evidence, confidence: null },
      });
      let result: ControlPlaneResult;
      try {
        result = await exchange(payload, traffic);
      } catch {
        result = { ok: false, error: failure('KZP_ERR_CONTROL_PLANE_NETWORK', 'control plane exchange failed unexpectedly') };
      }
      observe(result, report);
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.close();
    },
  };
}

function parseBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KaizenProxyError('KZP_ERR_CONFIG_INVALID', 'control_plane.url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KaizenProxyError('KZP_ERR_CONFIG_INVALID', 'control_plane.url must be http:// or https://');
  }
  return url;
}
