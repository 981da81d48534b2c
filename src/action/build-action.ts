import type { Action, ActionMetadata } from '../contract/action.js';
import type { Target } from '../contract/target.js';

/**
 * Actions in the shape Kaizen's control plane takes, from an already canonical Target.
 * Nothing here may carry a credential: no query string (tokens live there), no fragment, no
 * userinfo, no headers.
 */
export interface ActionExtra {
  readonly tool?: string;
  readonly publisher?: string;
  readonly hash?: string;
  /** TLS SNI seen in the tunnel's ClientHello. */
  readonly sni?: string;
  /** The CONNECT host, when the action is about an SNI or Host that differs from it. */
  readonly connectHost?: string;
  readonly eventId?: string;
  readonly observedAt?: string;
}

export interface HttpRequestInfo {
  readonly method: string;
  /** Request target as received; only its path is kept. */
  readonly path: string;
  readonly scheme: 'http' | 'https' | 'ws' | 'wss';
}

type MutableMetadata = { -readonly [K in keyof ActionMetadata]: ActionMetadata[K] };
type MutableAction = { -readonly [K in keyof Action]: Action[K] };

/**
 * The path of a request target without query string or fragment. An absolute-form target
 * (`http://user:pass@host/p?q`) keeps only its path, so userinfo cannot leak either.
 */
export function actionPath(requestTarget: string): string {
  if (requestTarget === '*') return '*';
  let path = requestTarget;
  const cut = path.search(/[?#]/);
  if (cut >= 0) path = path.slice(0, cut);
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return '/';
    }
  }
  if (!path.startsWith('/')) return '/';
  return path;
}

function assemble(kind: Action['kind'], target: Target, metadata: MutableMetadata, extra: ActionExtra | undefined): Action {
  if (extra?.sni !== undefined) metadata.sni = extra.sni;
  if (extra?.connectHost !== undefined) metadata.connect_host = extra.connectHost;
  if (extra?.eventId !== undefined) metadata.event_id = extra.eventId;
  if (extra?.observedAt !== undefined) metadata.observed_at = extra.observedAt;
  const action: MutableAction = { kind, target: target.authority, metadata };
  if (extra?.tool !== undefined) action.tool = extra.tool;
  if (extra?.publisher !== undefined) action.publisher = extra.publisher;
  if (extra?.hash !== undefined) action.hash = extra.hash;
  return action;
}

/** A tunnel (CONNECT) to the target. */
export function connectAction(target: Target, extra?: ActionExtra): Action {
  return assemble('connect', target, { source: 'egress' }, extra);
}

/**
 * One HTTP request (plain, intercepted or upgraded). With a tool named (route → tool mapping) it is
 * a `tool_call`, as in the control plane's own egress example; otherwise `http`.
 */
export function httpAction(target: Target, request: HttpRequestInfo, extra?: ActionExtra): Action {
  const metadata: MutableMetadata = {
    source: 'egress',
    method: request.method.toUpperCase(),
    path: actionPath(request.path),
    scheme: request.scheme,
  };
  return assemble(extra?.tool === undefined ? 'http' : 'tool_call', target, metadata, extra);
}
