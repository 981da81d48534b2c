import type { Action } from '../contract/action.js';

/**
 * Every field a verdict can depend on (agent, kind, target, tool, method) and nothing that varies per
 * request (path, query, ids), so one host's traffic shares one entry. Each free-text field is
 * written with its length first, which keeps the fields apart whatever they contain (a
 * JSON.stringify of the five was 3 µs of a forwarded request's CPU, bench/profile.mjs http).
 */
export function verdictCacheKey(agent: string, action: Action): string {
  const tool = action.tool;
  const method = action.metadata.method;
  return `${agent.length}:${agent}|${action.kind}|${action.target.length}:${action.target}|${tool === undefined ? '-' : `${tool.length}:${tool}`}|${method === undefined ? '-' : `${method.length}:${method}`}`;
}
