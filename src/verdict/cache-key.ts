import type { Action, ActionMetadata } from '../contract/action.js';

/** Targets whose last key is remembered; past this many the memo starts over. */
const MEMO_TARGETS = 1024;

interface Remembered {
  readonly agent: string;
  readonly kind: string;
  readonly tool: string | undefined;
  readonly method: string | undefined;
  readonly scheme: ActionMetadata['scheme'];
  readonly sni: string | undefined;
  readonly connectHost: string | undefined;
  readonly key: string;
}

/**
 * The last key made for each target, with what it was made from. An agent's traffic to one host
 * asks for the same key again and again; handing back the same string, not an equal new one, also
 * spares the cache's lookup a hash of the key and a comparison of its characters (both were
 * visible in `perf record` of bench/profile.mjs connrate).
 */
const remembered = new Map<string, Remembered>();

/**
 * Every field a verdict can depend on (agent, kind, target, tool, method, scheme, and a tunnel's
 * SNI and CONNECT host) and nothing that varies per request (path, query, ids), so one host's
 * traffic shares one entry. The scheme keeps a WebSocket upgrade (an `http` GET with scheme ws)
 * apart from a plain GET to the same target:port; a CONNECT has none. metadata.sni and
 * metadata.connect_host keep a domain-fronting attempt (a tunnel to connect_host whose ClientHello
 * names the target) apart from a plain CONNECT to its target and from fronting through another
 * host: the control plane hears of each, and no verdict given without knowing of the fronting
 * answers for it. Each free-text field is written with its length first, which keeps the fields
 * apart whatever they contain; the scheme is one of four fixed words and needs no length (a
 * JSON.stringify of the fields was 3 µs of a forwarded request's CPU, bench/profile.mjs http).
 * The SNI part is written only when the action has one, after the scheme.
 */
export function verdictCacheKey(agent: string, action: Action): string {
  const target = action.target;
  const kind = action.kind;
  const tool = action.tool;
  const { method, scheme, sni, connect_host: connectHost } = action.metadata;
  const last = remembered.get(target);
  if (
    last !== undefined &&
    last.agent === agent &&
    last.kind === kind &&
    last.tool === tool &&
    last.method === method &&
    last.scheme === scheme &&
    last.sni === sni &&
    last.connectHost === connectHost
  ) {
    return last.key;
  }
  const fronting = sni === undefined && connectHost === undefined ? '' : `|${free(sni)}|${free(connectHost)}`;
  const key = `${agentKeyPrefix(agent)}${kind}|${target.length}:${target}|${free(tool)}|${free(method)}|${scheme ?? '-'}${fronting}`;
  if (last === undefined && remembered.size >= MEMO_TARGETS) remembered.clear();
  remembered.set(target, { agent, kind, tool, method, scheme, sni, connectHost, key });
  return key;
}

/** A free-text field of the key: its length first, or `-` when absent. */
function free(text: string | undefined): string {
  return text === undefined ? '-' : `${text.length}:${text}`;
}

/**
 * The start of every cache key of `agent`'s verdicts and of no other agent's: the name's length
 * comes first, so no name (whatever it holds) can begin like another's key.
 */
export function agentKeyPrefix(agent: string): string {
  return `${agent.length}:${agent}|`;
}
