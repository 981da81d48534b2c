import type { Dispatcher } from 'undici';
import type { Manifest } from '../contract/manifest.js';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { startDeadline } from './deadline.js';
import { classifyTransportError } from './transport-failure.js';

/** The answer to `POST /v1/agents/{agent}/manifest`: the status and body (a few KiB at most) to report. */
export type ManifestPushResult =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly error: KaizenProxyError; readonly status: number | null; readonly body: string };

export interface ManifestClient {
  /** One attempt within `timeoutMs` (an operator runs it and reads the answer). Never rejects. */
  pushManifest(agent: string, manifest: Manifest, timeoutMs: number): Promise<ManifestPushResult>;
}

/** Enough of an answer to show an operator; the rest is dropped. */
const MAX_SHOWN_BYTES = 4096;

export interface ManifestRoute {
  readonly dispatcher: Dispatcher;
  readonly origin: string;
  /** The base URL's path prefix, without a trailing slash. */
  readonly prefix: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Kaizen's manifest endpoint, over the control-plane client's own connections, key and upstream proxy. */
export async function pushManifest(route: ManifestRoute, agent: string, manifest: Manifest, timeoutMs: number): Promise<ManifestPushResult> {
  const deadline = startDeadline(timeoutMs);
  try {
    const response = await route.dispatcher.request({
      origin: route.origin,
      method: 'POST',
      // The SDKs put the name in the path as it is; an agent name may hold characters a path cannot.
      // Its dots stay: `.` and `..`, the names that would read as dot segments, are refused
      // wherever a name is read (src/contract/agent-name.ts).
      path: `${route.prefix}/v1/agents/${encodeURIComponent(agent)}/manifest`,
      headers: route.headers,
      body: JSON.stringify({ tools: manifest.tools, destinations: manifest.destinations }),
      signal: deadline.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await response.body.text();
    const body = text.length > MAX_SHOWN_BYTES ? `${text.slice(0, MAX_SHOWN_BYTES)}…` : text;
    const status = response.statusCode;
    if (status >= 200 && status < 300) return { ok: true, status, body };
    const code: ErrorCode = status === 401 || status === 403 ? 'KZP_ERR_CONTROL_PLANE_AUTH' : 'KZP_ERR_CONTROL_PLANE_HTTP';
    return { ok: false, error: new KaizenProxyError(code, `control plane answered ${status} to the manifest`), status, body };
  } catch (error) {
    if (deadline.signal.aborted) {
      return { ok: false, error: new KaizenProxyError('KZP_ERR_CONTROL_PLANE_TIMEOUT', `control plane did not answer within ${timeoutMs}ms`), status: null, body: '' };
    }
    const classified = classifyTransportError(error, 'request');
    return { ok: false, error: new KaizenProxyError(classified.code, `manifest push failed (${classified.detail})`), status: null, body: '' };
  } finally {
    deadline.dispose();
  }
}
