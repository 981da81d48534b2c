import type { Socket } from 'node:net';

/** Interim answers as a destination sends them, and as a client must get them through the proxy. */
export const PROCESSING = 'HTTP/1.1 102 Processing\r\n\r\n';
/** A 103 as the destination sends it: a hop-by-hop field (named in Connection) and one of ours that must not pass. */
export const HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nConnection: X-Hop\r\nX-Hop: gone\r\nX-Kaizen-Decision: block\r\n\r\n';
/** The same 103 as the client must get it. */
export const CLEAN_HINTS = 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n';

/**
 * For headOrigin(): a request for a path ending in /continue is answered 100, 103 and a 201 that
 * closes the connection; any other, 102, 103 and a 200 with the body `ok`.
 */
export function answerInterim(socket: Socket, head: string): void {
  const path = head.split(' ')[1] ?? '';
  if (path.endsWith('/continue')) socket.end(`HTTP/1.1 100 Continue\r\n\r\n${HINTS}HTTP/1.1 201 Created\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone`);
  else socket.write(`${PROCESSING}${HINTS}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
}
