import type { Action, ActionMetadata } from '../contract/action.js';

/** Targets whose last key is remembered; past this many the memo starts over. */
const MEMO_TARGETS = 1024;

interface Remembered {
  readonly agent: string;
  readonly kind: string;
  readonly tool: string | undefined;
  readonly method: string | undefined;
  readonly scheme: ActionMetadata['scheme'];
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
 * Every field a verdict can depend on (agent, kind, target, tool, method, scheme) and nothing that
 * varies per request (path, query, ids), so one host's traffic shares one entry. The scheme keeps a
 * WebSocket upgrade (an `http` GET with scheme ws) apart from a plain GET to the same target:port;
 * a CONNECT has none. Each free-text field is written with its length first, which keeps the
 * fields apart whatever they contain; the scheme is one of four fixed words and needs no length
 * (a JSON.stringify of the fields was 3 µs of a forwarded request's CPU, bench/profile.mjs http).
 */
export function verdictCacheKey(agent: string, action: Action): string {
  const target = action.target;
  const kind = action.kind;
  const tool = action.tool;
  const method = action.metadata.method;
  const scheme = action.metadata.scheme;
  const last = remembered.get(target);
  if (last !== undefined && last.agent === agent && last.kind === kind && last.tool === tool && last.method === method && last.scheme === scheme) return last.key;
  const key = `${agentKeyPrefix(agent)}${kind}|${target.length}:${target}|${tool === undefined ? '-' : `${tool.length}:${tool}`}|${method === undefined ? '-' : `${method.length}:${method}`}|${scheme ?? '-'}`;
  if (last === undefined && remembered.size >= MEMO_TARGETS) remembered.clear();
  remembered.set(target, { agent, kind, tool, method, scheme, key });
  return key;
}

/**
 * The start of every cache key of `agent`'s verdicts and of no other agent's: the name's length
 * comes first, so no name (whatever it holds) can begin like another's key.
 */
export function agentKeyPrefix(agent: string): string {
  return `${agent.length}:${agent}|`;
}
