import type { ClientRequest, InformationEvent } from 'node:http';
import { KaizenProxyError } from '../errors/kaizen-error.js';

/**
 * node:http's client (the upstream_proxy path) reads interim answers (100, 102, 103) without end,
 * each under maxHeaderSize: a destination sending them forever was parsed at full speed for as long
 * as the client waited, and the client never got an answer. As on the direct path
 * (http1-response-parser.ts), their heads count against the head limit; past it the request is
 * destroyed with KZP_ERR_UPSTREAM_PROTOCOL, answered 502.
 */
export function limitInterimAnswers(upstream: ClientRequest, maxBytes: number): void {
  let used = 0;
  upstream.on('information', (info: InformationEvent) => {
    // The status line and each field line with its CRLF, the empty line: the head as it came, near enough.
    used += 17 + info.statusMessage.length;
    for (const part of info.rawHeaders) used += part.length + 2;
    if (used > maxBytes) upstream.destroy(new KaizenProxyError('KZP_ERR_UPSTREAM_PROTOCOL', 'interim responses past the head limit'));
  });
}
