import type { Action } from '../contract/action.js';

/** Targets whose last key is remembered; past this many the memo starts over. */
const MEMO_TARGETS = 1024;

interface Remembered {
  readonly agent: string;
  readonly kind: string;
  readonly tool: string | undefined;
  readonly method: string | undefined;
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
 * Every field a verdict can depend on (agent, kind, target, tool, method) and nothing that varies per
 * request (path, query, ids), so one host's traffic shares one entry. Each free-text field is
 * written with its length first, which keeps the fields apart whatever they contain (a
 * JSON.stringify of the five was 3 µs of a forwarded request's CPU, bench/profile.mjs http).
 */
export function verdictCacheKey(agent: string, action: Action): string {
  const target = action.target;
  const kind = action.kind;
  const tool = action.tool;
  const method = action.metadata.method;
  const last = remembered.get(target);
  if (last !== undefined && last.agent === agent && last.kind === kind && last.tool === tool && last.method === method) return last.key;
  const key = `${agent.length}:${agent}|${kind}|${target.length}:${target}|${tool === undefined ? '-' : `${tool.length}:${tool}`}|${method === undefined ? '-' : `${method.length}:${method}`}`;
  if (last === undefined && remembered.size >= MEMO_TARGETS) remembered.clear();
  remembered.set(target, { agent, kind, tool, method, key });
  return key;
}
