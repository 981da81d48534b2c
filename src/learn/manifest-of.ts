import { parse } from 'tldts';
import { parseAuthority } from '../action/target-parse.js';
import type { Manifest } from '../contract/manifest.js';
import type { ObservedRecord } from './observed-record.js';

export const COLLAPSE_MODES = ['none', 'registrable'] as const;
export type Collapse = (typeof COLLAPSE_MODES)[number];

export interface LearnedManifest {
  readonly manifest: Manifest;
  /** Targets left out: every action on them was refused (a declaration must not legitimise them). */
  readonly refusedOnly: readonly string[];
  /**
   * Targets left out: forwarded only without a verdict (fail: open, or fail: closed overridden by
   * monitor mode), never on one: the control plane said nothing about them, so nothing says they
   * belong in a declaration.
   */
  readonly failOpenOnly: readonly string[];
  /** Targets left out: no action forwarded to them reached them (no address, or refused at the SNI check). */
  readonly unreachedOnly: readonly string[];
  /** Forwarded only because of monitor mode: kept in the manifest, listed for the operator. */
  readonly wouldBlock: readonly string[];
  /** Tools left out: no action carrying them was forwarded on a verdict (refused, or without one). */
  readonly toolsLeftOut: readonly string[];
  /** Actions on destinations the full record could not hold: those destinations are missing. */
  readonly droppedActions: number;
  /** Tool names the record did not keep (too many on one destination, or too long). */
  readonly droppedTools: number;
}

/**
 * Kaizen's manifest from an observed record: every destination the agent reached on a verdict (at
 * least one action forwarded, monitor-mode would-blocks of a verdict included, actions forwarded
 * without a verdict not) and every tool carried by an action forwarded on a verdict.
 * `registrable` collapses names to their registrable domain with the port kept
 * (`api.openai.com:443` → `openai.com:443`), using the public suffix list with its private section
 * (so one tenant of `github.io` does not stand for all of them); IP literals and names without a
 * registrable domain (`localhost`, names under a suffix the list does not name) stay as they are.
 */
export function manifestOf(record: ObservedRecord, collapse: Collapse): LearnedManifest {
  const destinations = new Set<string>();
  const tools = new Set<string>();
  const refusedOnly: string[] = [];
  const failOpenOnly: string[] = [];
  const unreachedOnly: string[] = [];
  const wouldBlock = new Set<string>();
  const notAllowed = new Set<string>();
  for (const stats of record.destinations.values()) {
    for (const tool of stats.toolsNotAllowed) notAllowed.add(tool);
    if (stats.allowed + stats.wouldBlock === 0) {
      // A record written before tools were kept apart: its tools here were never allowed either.
      for (const tool of stats.tools) notAllowed.add(tool);
      (stats.failOpen > 0 ? failOpenOnly : refusedOnly).push(stats.target);
      continue;
    }
    if (stats.unreached >= stats.allowed + stats.wouldBlock + stats.failOpen) {
      unreachedOnly.push(stats.target);
      for (const tool of stats.tools) notAllowed.add(tool);
      continue;
    }
    const destination = collapse === 'registrable' ? collapsed(stats.target) : stats.target;
    destinations.add(destination);
    if (stats.wouldBlock > 0) wouldBlock.add(destination);
    for (const tool of stats.tools) tools.add(tool);
  }
  return {
    manifest: { tools: [...tools].sort(), destinations: [...destinations].sort() },
    refusedOnly: refusedOnly.sort(),
    failOpenOnly: failOpenOnly.sort(),
    unreachedOnly: unreachedOnly.sort(),
    wouldBlock: [...wouldBlock].sort(),
    toolsLeftOut: [...notAllowed].filter((tool) => !tools.has(tool)).sort(),
    droppedActions: record.droppedActions,
    droppedTools: record.droppedTools,
  };
}

/**
 * "api.openai.com:443" → "openai.com:443"; IP literals, unparsable targets and names under no
 * suffix of the list unchanged. tldts answers the list's implicit `*` rule for those (the last
 * label as a suffix), which would turn `payments.default.svc.cluster.local` into `cluster.local`,
 * every service of the cluster, and `api.corp.internal` into `corp.internal`: only a suffix the
 * list names (ICANN or private) has registrable domains.
 */
export function collapsed(target: string): string {
  const parsed = parseAuthority(target);
  if (!parsed.ok || parsed.value.hostType !== 'dns') return target;
  const name = parse(parsed.value.host, { allowPrivateDomains: true, extractHostname: false });
  if (name.isIcann !== true && name.isPrivate !== true) return target;
  const domain = name.domain;
  return domain === null || domain === '' ? target : `${domain}:${parsed.value.port}`;
}
