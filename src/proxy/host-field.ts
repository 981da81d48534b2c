import type { RequestView } from './exchange-views.js';

/**
 * RFC 9112 §3.2, for requests the proxy answers as the origin (inside an intercepted session): a
 * server answers 400 to an HTTP/1.1 request without a Host header, and to any request with more
 * than one Host line, equal or not. node:http keeps the first and drops the others, and runs with
 * requireHostHeader off (a proxy's absolute-form requests need none), so it checks neither.
 * Returns why the request is refused (a constant text), or null.
 */
export function hostFieldProblem(req: Pick<RequestView, 'httpVersion' | 'rawHeaders'>): string | null {
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if ((req.rawHeaders[i] ?? '').toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return 'more than one Host header';
  if (hosts === 0 && req.httpVersion !== '1.0') return 'no Host header in an HTTP/1.1 request';
  return null;
}
