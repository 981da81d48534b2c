import { createActionLabels, type ActionLabels } from '../action/action-labels.js';
import { parseToolRoute, type ToolRoute } from '../action/tool-routes.js';
import type { ProxyConfig } from '../config/types.js';
import type { Interceptor } from '../contract/interceptor.js';
import type { Target } from '../contract/target.js';
import { EXPOSED_KEY_HINT, exposedKey } from '../intercept/ca-key-exposure.js';
import { loadCa, type CertificateAuthority } from '../intercept/ca-load.js';
import { createInterceptor } from '../intercept/interceptor.js';
import type { Logger } from '../observe/logger.js';
import { createDomainSet } from '../verdict/policy/domain-set.js';

/** What the transport gets for interception and action naming; the interceptor only when intercept.hosts is set. */
export interface InterceptionSetup {
  readonly labels: ActionLabels;
  readonly upstreamCa: readonly string[];
  readonly interceptor?: Interceptor;
}

/** A CA this close to its end is announced at start, so it is renewed before clients refuse it. */
const EXPIRY_WARNING_MS = 30 * 86_400_000;

/**
 * Tool routes and publishers for every action; with intercept.hosts, the CA loaded and checked
 * (interceptionCa) and the hosts matched exactly like the policies' `domains`.
 */
export async function setUpInterception(config: ProxyConfig, logger: Logger, now: Date = new Date()): Promise<InterceptionSetup> {
  const labels = actionLabelsFor(config);
  const base = { labels, upstreamCa: config.intercept.upstreamCa };
  const ca = await interceptionCa(config, logger, now);
  if (ca === null) {
    if (config.tools.length > 0) logger.info({ routes: config.tools.length }, 'tool routes apply to plain http:// requests only: intercept.hosts is empty');
    return base;
  }
  return { ...base, interceptor: createInterceptor({ ca, intercepts: interceptedHosts(config.intercept.hosts) }) };
}

/**
 * The CA as serve's start and check-config both take it: loaded only when intercept.hosts names a
 * host (else null), and checked (a missing, expired or mismatched CA throws its KZP_ERR_CA_* code);
 * announced with its fingerprint, and a warning when it expires within 30 days or when its key
 * file can be read by group or others (used all the same).
 */
export async function interceptionCa(config: ProxyConfig, logger: Logger, now: Date = new Date()): Promise<CertificateAuthority | null> {
  if (config.intercept.hosts.length === 0) return null;
  const ca = await loadCa(config.intercept.caDir, now);
  const fields = { hosts: config.intercept.hosts.length, ca: ca.certFile, fingerprint: ca.fingerprint256, not_after: ca.notAfter.toISOString(), routes: config.tools.length };
  logger.info(fields, 'TLS interception on: clients must trust the CA');
  if (ca.notAfter.getTime() - now.getTime() < EXPIRY_WARNING_MS) logger.warn(fields, 'the interception CA expires within 30 days; create a new one (kaizen-proxy ca init --force) and trust it');
  const exposed = exposedKey(ca);
  if (exposed !== null) {
    logger.warn({ ca_key: exposed.keyFile, mode: exposed.mode }, `the interception CA key is readable by group or others: ${EXPOSED_KEY_HINT}; chmod 600 it`);
  }
  return ca;
}

/** The tool routes and publisher derivation of the configuration. */
export function actionLabelsFor(config: ProxyConfig): ActionLabels {
  return createActionLabels({ routes: compileRoutes(config), publishers: config.publishers });
}

/** intercept.hosts as a predicate: the policies' `domains` matcher, so both read a pattern alike. */
export function interceptedHosts(entries: readonly string[]): (target: Target) => boolean {
  const set = createDomainSet(entries);
  return (target) => {
    const hostIsIp = target.hostType !== 'dns';
    return set.match({ host: target.host, hostIsIp, suffixes: hostIsIp ? [] : suffixesOf(target.host) }) !== undefined;
  };
}

/** "a.b.c" → ["a.b.c", "b.c", "c"]: the names a domain entry may be written as. */
function suffixesOf(host: string): string[] {
  const suffixes = [host];
  for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) suffixes.push(host.slice(dot + 1));
  return suffixes;
}

function compileRoutes(config: ProxyConfig): ToolRoute[] {
  return config.tools.map((spec) => {
    const parsed = parseToolRoute(spec);
    // The schema refused every route that does not parse; one here is a programming error.
    if (!parsed.ok) throw new Error(`tool route ${spec.match}: ${parsed.message}`);
    return parsed.route;
  });
}
