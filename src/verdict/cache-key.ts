import type { Action } from '../contract/action.js';

/**
 * Every field a verdict can depend on (agent, kind, target, tool, method) and nothing that varies per
 * request (path, query, ids), so one host's traffic shares one entry. JSON keeps the fields apart.
 */
export function verdictCacheKey(agent: string, action: Action): string {
  return JSON.stringify([agent, action.kind, action.target, action.tool ?? null, action.metadata.method ?? null]);
}
