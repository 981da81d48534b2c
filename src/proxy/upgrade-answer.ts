import type { Socket } from 'node:net';
import { parseHead } from '../net/http1-head.js';
import { asksContinue } from './expectation.js';
import type { RequestView } from './exchange-views.js';
import { interimHeadText, isInterim } from './interim-head.js';
import { MAX_UPGRADE_HEAD_BYTES, readResponseHead, type HeadRead } from './response-head.js';

/** The 100 a client that asked for one waits for before its body, relayed (RFC 9110 §7.8: a 100 comes before the 101). */
const CONTINUE_HEAD = 'HTTP/1.1 100 Continue\r\n\r\n';

export interface UpgradeAnswer {
  /** The destination's final head (a 101 or any status >= 200) and the bytes after it, or why there is none. */
  readonly read: HeadRead;
  /** Bytes of the interim heads that came before it (not carried by a tunnel: bytes_down leaves them out). */
  readonly interimBytes: number;
}

/**
 * The destination's answer to an Upgrade request, read off its socket: interim answers first, then
 * the final one, returned. A proxy forwards 1xx answers (RFC 9110 §15.2), as Go's ReverseProxy and
 * HAProxy do, so a `102 Processing` or `103 Early Hints` reaches the client before its 101 or final
 * answer, cleaned as a relayed head is (hop-by-hop and `X-Kaizen-*` fields dropped, no framing
 * fields, which a 1xx never has), and checked as strictly as a 101: one a parser could read two
 * ways (a bare LF, a control character, a folded line) is answered 502 KZP_ERR_UPSTREAM_PROTOCOL.
 * A `100 Continue` is relayed once, to a client that asked for one (`Expect: 100-continue`); it
 * means nothing to another. Interim heads share the head limit with the final head
 * (MAX_UPGRADE_HEAD_BYTES, as the plain path counts them), so a destination sending them without
 * end is refused, not read forever.
 */
export async function awaitUpgradeAnswer(client: Socket, upstream: Socket, req: RequestView, idleTimeoutMs: number): Promise<UpgradeAnswer> {
  let read = await readResponseHead(upstream, idleTimeoutMs);
  let left = MAX_UPGRADE_HEAD_BYTES;
  for (let relayContinue = asksContinue(req); read.ok && isInterim(statusOf(read.head)); ) {
    const status = statusOf(read.head);
    if (status === 100) {
      if (relayContinue && !client.destroyed) client.write(CONTINUE_HEAD);
      relayContinue = false;
    } else {
      const relayed = relayedInterimHead(read.head);
      if (relayed === null) return { read: { ok: false, code: 'KZP_ERR_UPSTREAM_PROTOCOL' }, interimBytes: MAX_UPGRADE_HEAD_BYTES - left };
      if (!client.destroyed) client.write(relayed, 'latin1');
    }
    left -= read.head.length;
    read = await readResponseHead(upstream, idleTimeoutMs, read.rest, left);
  }
  return { read, interimBytes: MAX_UPGRADE_HEAD_BYTES - left };
}

/** The status code of a response head ("HTTP/1.1 101 ..."), 0 when unreadable. */
export function statusOf(head: string): number {
  if (!head.startsWith('HTTP/1.') || (head[12] !== ' ' && head[12] !== '\r')) return 0;
  const status = Number(head.slice(9, 12));
  return Number.isInteger(status) ? status : 0;
}

/** An interim head as the client gets it (interim-head.ts), or null when it does not parse strictly. */
function relayedInterimHead(head: string): string | null {
  if (/(?:^|[^\r])\n/.test(head)) return null;
  const parsed = parseHead(head);
  return typeof parsed === 'string' ? null : interimHeadText(parsed);
}
