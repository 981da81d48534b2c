import { connectAction, httpAction } from '../action/build-action.js';
import { parseAuthority, targetFromParts } from '../action/target-parse.js';
import type { ProxyConfig } from '../config/types.js';
import type { Action } from '../contract/action.js';
import type { Resolution } from '../contract/decision.js';
import type { Target } from '../contract/target.js';
import { createAddressGuard } from '../net/address-guard.js';
import type { Listener } from '../net/own-listeners.js';
import { resolveTarget } from '../net/resolve.js';
import type { Logger } from '../observe/logger.js';
import { createDecider } from '../verdict/create-decider.js';
import { createLocalReflex } from './local-reflex.js';
import { actionLabelsFor, interceptedHosts } from './interception-setup.js';
import type { ActionLabels } from '../action/action-labels.js';

export type CheckOutcome =
  | { readonly kind: 'decided'; readonly verdict: 'allow' | 'block' | 'unreachable'; readonly report: Record<string, unknown> }
  | { readonly kind: 'invalid'; readonly message: string };

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'ws:': 80, 'https:': 443, 'wss:': 443 };

/**
 * What the running configuration would answer for one target, through the real pipeline: the
 * action built by src/action, the name resolved once, the address guard, the local policies (and
 * the synced ones), then the control plane when a key is set (which records the action). A URL
 * with https:// or wss:// is a CONNECT to its host, as a client behind the proxy would send it.
 */
export async function checkTarget(config: ProxyConfig, text: string, method: string | null, logger: Logger): Promise<CheckOutcome> {
  const naming: Naming = { labels: actionLabelsFor(config), intercepted: interceptedHosts(config.intercept.hosts) };
  const parsed = parseTarget(text, method ?? 'GET', naming);
  if ('message' in parsed) return { kind: 'invalid', message: parsed.message };
  const { target, action } = parsed;

  const guard = createAddressGuard({ allowPrivate: config.network.allowPrivate });
  // Every listener serve would open is the proxy itself, as serve's guard says (create-proxy.ts).
  guard.setOwnListeners(ownListeners(config));
  // Only the agent checked as (config.agent) needs its policies synced, not each gateway identity's.
  const reflex = createLocalReflex({ ...config, gateway: { ...config.gateway, credentials: [] } }, logger);
  const decider = createDecider({ config, logger, guard, ...reflex.deciderOptions });
  try {
    await reflex.start();
    reflex.stop();
    // As serve (decide-action.ts): a name the local rules refuse is refused before any lookup,
    // and a lookup has network.dns_timeout, after which a family that answered is the answer.
    let decision = target.hostType === 'dns' ? decider.refuseByName(action, config.agent) : undefined;
    let resolved: Resolution | null = null;
    if (decision === undefined) {
      const resolution = resolveTarget(target, config.network.dnsTimeoutMs);
      decision = await decider.decide({ action, agent: config.agent, resolution, port: target.port });
      resolved = await resolution;
    }
    const report: Record<string, unknown> = {
      agent: config.agent,
      mode: config.mode,
      kind: action.kind,
      target: action.target,
      tool: action.tool ?? null,
      publisher: action.publisher ?? null,
      method: action.metadata.method ?? (action.kind === 'connect' ? 'CONNECT' : null),
      addresses: resolved?.ok === true ? resolved.addresses : null,
      dns_error: resolved === null || resolved.ok ? null : resolved.message,
      looked_up: resolved !== null,
      decision: decision.decision,
      enforce: decision.enforce,
      would_block: decision.wouldBlock,
      source: decision.source,
      reason: decision.reason,
      evidence: decision.evidence,
      verdict_id: decision.verdictId,
    };
    if (method !== null && action.kind === 'connect') report['note'] = 'a TLS URL is a CONNECT tunnel: the method is not visible to the proxy';
    const verdict = decision.decision === 'block' ? 'block' : resolved?.ok === true ? 'allow' : 'unreachable';
    return { kind: 'decided', verdict, report };
  } finally {
    reflex.stop();
    await decider.close();
  }
}

function ownListeners(config: ProxyConfig): Listener[] {
  const configured = [config.listen, config.admin, config.transparent].filter((listener) => listener !== null);
  return configured.map((listener) => ({ address: listener.host, port: listener.port }));
}

/** How the running proxy would name the action: its labels, and which TLS hosts it intercepts. */
interface Naming {
  readonly labels: ActionLabels;
  readonly intercepted: (target: Target) => boolean;
}

function parseTarget(text: string, method: string, naming: Naming): { readonly target: Target; readonly action: Action } | { readonly message: string } {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const parsed = parseAuthority(text);
    return parsed.ok ? { target: parsed.value, action: connectAction(parsed.value, naming.labels.tunnel(parsed.value)) } : { message: `invalid target: ${parsed.message} (expected host:port or a URL)` };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { message: 'invalid URL' };
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined) return { message: `unsupported scheme ${url.protocol} (http, https, ws or wss)` };
  const parsed = targetFromParts(url.hostname, url.port === '' ? defaultPort : Number(url.port));
  if (!parsed.ok) return { message: `invalid target: ${parsed.message}` };
  const target = parsed.value;
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  // An intercepted TLS host shows its requests; any other TLS URL is a tunnel the proxy cannot see into.
  if (secure && !naming.intercepted(target)) return { target, action: connectAction(target, naming.labels.tunnel(target)) };
  const scheme = url.protocol === 'wss:' ? 'wss' : url.protocol === 'ws:' ? 'ws' : secure ? 'https' : 'http';
  const labels = naming.labels.request(target, method, url.pathname);
  if (!labels.ok) return { message: `refused as a bad request: ${labels.message}` };
  return { target, action: httpAction(target, { method, path: url.pathname, scheme }, labels.extra) };
}
