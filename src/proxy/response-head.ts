import type { Socket } from 'node:net';
import { parseHead } from '../net/http1-head.js';
import { withoutKaizenNames } from './hop-by-hop.js';

/** Largest response head accepted from a destination before a tunnel (an Upgrade's 101). */
export const MAX_UPGRADE_HEAD_BYTES = 16 * 1024;

export type HeadRead =
  | { readonly ok: true; readonly head: string; readonly rest: Buffer }
  | { readonly ok: false; readonly code: 'KZP_ERR_UPSTREAM_PROTOCOL' | 'KZP_ERR_UPSTREAM_TIMEOUT' | 'KZP_ERR_UPSTREAM_CONNECT' };

const TERMINATOR = Buffer.from('\r\n\r\n', 'latin1');
const NOTHING = Buffer.alloc(0);

/**
 * Read a destination's response head (through the blank line) off a raw socket, so it can be
 * cleaned before it reaches the client; the bytes after it are handed back untouched. `buffered`:
 * bytes already read past an earlier head (an interim 1xx answer's `rest`), taken first. The
 * socket is paused again once the head is in, so it can be read once more. `maxBytes`: how large
 * the head may be (what interim heads before it left of MAX_UPGRADE_HEAD_BYTES).
 */
export function readResponseHead(socket: Socket, timeoutMs: number, buffered: Buffer = NOTHING, maxBytes = MAX_UPGRADE_HEAD_BYTES): Promise<HeadRead> {
  const already = headIn(buffered, maxBytes);
  if (already !== null) return Promise.resolve(already);
  // Closed while nobody listened (reset while paused between two heads): nothing more will come.
  if (socket.destroyed) return Promise.resolve({ ok: false, code: buffered.length === 0 ? 'KZP_ERR_UPSTREAM_CONNECT' : 'KZP_ERR_UPSTREAM_PROTOCOL' });
  return new Promise((resolve) => {
    const settle = (result: HeadRead): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('timeout', onTimeout);
      socket.setTimeout(0);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const read = headIn(buffered, maxBytes);
      if (read !== null) settle(read);
    };
    const onClose = (): void => {
      settle({ ok: false, code: buffered.length === 0 ? 'KZP_ERR_UPSTREAM_CONNECT' : 'KZP_ERR_UPSTREAM_PROTOCOL' });
    };
    const onTimeout = (): void => {
      settle({ ok: false, code: 'KZP_ERR_UPSTREAM_TIMEOUT' });
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('timeout', onTimeout);
    socket.setTimeout(timeoutMs);
    // A socket paused by an earlier read does not flow again for a new 'data' listener alone.
    socket.resume();
  });
}

/** The head and what follows it once the blank line is in `buffered`; an error past `maxBytes`; else null. */
function headIn(buffered: Buffer, maxBytes: number): HeadRead | null {
  const end = buffered.indexOf(TERMINATOR);
  const split = end + TERMINATOR.length;
  if (end >= 0 && split <= maxBytes) return { ok: true, head: buffered.subarray(0, split).toString('latin1'), rest: buffered.subarray(split) };
  return end >= 0 || buffered.length > maxBytes ? { ok: false, code: 'KZP_ERR_UPSTREAM_PROTOCOL' } : null;
}

/**
 * Why a `101` head read by readResponseHead cannot be relayed (a bare LF or CR, a NUL or other
 * control character, obsolete line folding, a malformed line; or a switch to another protocol than
 * `requested`, the request's Upgrade), or null. The head reaches the
 * client as it came, so it must be one every parser reads the same: Go's reader (gorilla and
 * nhooyr WebSocket clients) ends a line at a bare LF, so `Connection: Upgrade\nX-Kaizen-Decision:
 * block` passed a forged header the line-wise filter never saw.
 */
export function switchingHeadProblem(head: string, requested: string): string | null {
  if (/(?:^|[^\r])\n/.test(head)) return 'bare LF in response head';
  const parsed = parseHead(head);
  if (typeof parsed === 'string') return parsed;
  return switchedProtocolProblem(parsed.fields, requested);
}

/**
 * Why a 101's fields do not switch to `requested` (the request's Upgrade value), or null. A server
 * MUST NOT switch to a protocol the client did not ask for, and names the one it switches to in
 * `Upgrade` with `Connection: Upgrade` (RFC 9110 §7.8): as Go's ReverseProxy, a 101 whose Upgrade
 * (every line of it, joined) is not the one asked for, in any case, or whose Connection does not
 * name `upgrade`, is refused. Tunnelled, the client would speak one protocol and the destination another.
 */
function switchedProtocolProblem(fields: readonly string[], requested: string): string | null {
  let upgrade: string | null = null;
  let connectionUpgrade = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = (fields[i] ?? '').toLowerCase();
    const value = fields[i + 1] ?? '';
    if (name === 'upgrade') upgrade = upgrade === null ? value : `${upgrade}, ${value}`;
    else if (name === 'connection') connectionUpgrade ||= value.split(',').some((token) => token.trim().toLowerCase() === 'upgrade');
  }
  if (!connectionUpgrade) return 'switching without Connection: upgrade';
  if (upgrade === null || upgrade.trim().toLowerCase() !== requested.trim().toLowerCase()) return 'switching to a protocol not requested';
  return null;
}

/**
 * The head without any `X-Kaizen-*` line, nor such a name in a `Trailer` line (dropped when it
 * names nothing else): a destination cannot forge the proxy's headers, nor announce them.
 */
export function withoutKaizenHeaders(head: string): string {
  if (!/x-kaizen-/i.test(head)) return head;
  const lines: string[] = [];
  for (const line of head.split('\r\n')) {
    const lower = line.toLowerCase();
    if (lower.startsWith('x-kaizen-')) continue;
    if (lower.startsWith('trailer:')) {
      const value = line.slice(8);
      const names = withoutKaizenNames(value);
      if (names === value) lines.push(line);
      else if (names !== '') lines.push(`${line.slice(0, 7)}: ${names}`);
      continue;
    }
    lines.push(line);
  }
  return lines.join('\r\n');
}
