/** The public entry of kaizen-proxy as a library; pinned by test/unit/public-exports.test.ts. */
export { createProxy } from './app/create-proxy.js';
export type { CreateProxyOptions, KaizenProxy } from './app/create-proxy.js';
export { loadConfig, formatIssues } from './config/load.js';
export type { ProxyConfig, FlagOverrides, ConfigIssue, ConfigResult } from './config/types.js';
export { ERROR_CODES } from './errors/codes.js';
export type { ErrorCode } from './errors/codes.js';
export { KaizenProxyError, isKaizenProxyError } from './errors/kaizen-error.js';
export type { Action, ActionKind, ActionMetadata } from './contract/action.js';
export type { Decider, Decision, DecisionRequest, DecisionSource, Evidence, Resolution } from './contract/decision.js';
export type { Target, HostType } from './contract/target.js';
export { VERSION } from './version.js';
