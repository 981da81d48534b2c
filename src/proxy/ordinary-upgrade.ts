import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { handBack, type ParserHandOff } from './parser-hand-off.js';

/**
 * Whether an Upgrade request asks for WebSocket: the one token `websocket`, in any case, as RFC 6455
 * clients send it. That is the only upgrade the proxy tunnels.
 */
export function isWebSocketUpgrade(req: Pick<IncomingMessage, 'headers'>): boolean {
  return (req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

/** Fields that only ask for or set up the upgrade (RFC 9110 §7.8, RFC 7540 §3.2.1). */
const UPGRADE_FIELDS: ReadonlySet<string> = new Set(['upgrade', 'http2-settings']);

/** The fields node:http keeps on a socket it serves: the response being written (lib/_http_server.js). */
type ServedSocket = Socket & { _httpMessage?: { once(event: 'close', listener: () => void): unknown } | null };

/**
 * An Upgrade to anything but WebSocket (h2c, TLS/1.x, anything else), or in an HTTP/1.0 request
 * (which RFC 9110 §7.8 has a server ignore), is not tunnelled: after an h2c
 * 101 every HTTP/2 stream (any path, any authority) would reach the destination undecided. Upgrade
 * is hop-by-hop, so it is dropped, with HTTP2-Settings and the `Connection` tokens naming them, and
 * the request goes on as the ordinary request it then is: node:http took it for an upgrade and let go
 * of the connection, so its head is rebuilt without those fields, put back in front of the bytes
 * that followed it (`head`: its body, the next requests) and the connection handed back to
 * node:http's parser, as the fast lane hands one over (lane-connection.ts). The request is then
 * decided, forwarded and answered like any other, and the connection stays HTTP/1.1.
 *
 * node:http hands an upgrade over as soon as its head is parsed, even behind pipelined requests
 * whose responses are still being written: the hand-back waits for those (a new parser would queue
 * its responses behind them forever), and a connection closed meanwhile is simply gone.
 */
export function reparseAsOrdinary(req: IncomingMessage, socket: Socket, head: Buffer, toParser: ParserHandOff): void {
  socket.pause();
  const bytes = Buffer.concat([Buffer.from(ordinaryHead(req), 'latin1'), head]);
  afterResponses(socket, () => {
    handBack(socket, bytes, toParser);
  });
}

/** Runs `then` once no earlier response of node:http's is being written on the socket; never if it closes (or ends) first. */
function afterResponses(socket: Socket, then: () => void): void {
  // Closed, or ending after a `Connection: close` response: nothing more is served on it.
  if (socket.destroyed || !socket.writable) return;
  const current = (socket as ServedSocket)._httpMessage;
  if (current === null || current === undefined) {
    then();
    return;
  }
  // 'close' comes after node:http has given the socket to the next queued response, if any.
  current.once('close', () => {
    afterResponses(socket, then);
  });
}

/** The request head as node:http parsed it, without the upgrade's fields (values passed its parser: no CR or LF). */
function ordinaryHead(req: IncomingMessage): string {
  let head = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const lower = name.toLowerCase();
    if (UPGRADE_FIELDS.has(lower)) continue;
    let value = raw[i + 1] ?? '';
    if (lower === 'connection') {
      value = withoutUpgradeTokens(value);
      if (value === '') continue;
    }
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/** A Connection value without `upgrade` and `http2-settings`; '' when nothing else is left. */
function withoutUpgradeTokens(value: string): string {
  return value
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '' && !UPGRADE_FIELDS.has(token.toLowerCase()))
    .join(', ');
}
