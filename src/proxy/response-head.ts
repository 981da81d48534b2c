import type { Socket } from 'node:net';

/** Largest response head accepted from a destination before a tunnel (an Upgrade's 101). */
export const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;

export type HeadRead =
  | { readonly ok: true; readonly head: string; readonly rest: Buffer }
  | { readonly ok: false; readonly code: 'KZP_ERR_UPSTREAM_PROTOCOL' | 'KZP_ERR_UPSTREAM_TIMEOUT' | 'KZP_ERR_UPSTREAM_CONNECT' };

const TERMINATOR = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Read a destination's response head (through the blank line) off a raw socket, so it can be
 * cleaned before it reaches the client; the bytes after it are handed back untouched.
 */
export function readResponseHead(socket: Socket, timeoutMs: number): Promise<HeadRead> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
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
      const end = buffered.indexOf(TERMINATOR);
      if (end >= 0) {
        const split = end + TERMINATOR.length;
        settle({ ok: true, head: buffered.subarray(0, split).toString('latin1'), rest: buffered.subarray(split) });
      } else if (buffered.length > MAX_RESPONSE_HEAD_BYTES) {
        settle({ ok: false, code: 'KZP_ERR_UPSTREAM_PROTOCOL' });
      }
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
  });
}

/** The head without any `X-Kaizen-*` line: a destination cannot forge the proxy's headers. */
export function withoutKaizenHeaders(head: string): string {
  if (!/\r\nx-kaizen-/i.test(head)) return head;
  return head
    .split('\r\n')
    .filter((line) => !line.toLowerCase().startsWith('x-kaizen-'))
    .join('\r\n');
}
