import type { ParsedHead } from '../net/http1-head.js';
import type { RequestView, ResponseView } from './exchange-views.js';
import { forwardResponseHeaders } from './hop-by-hop.js';

/** What a relayed interim head is made from: a head already parsed strictly (http1-head.ts). */
export type InterimHead = Pick<ParsedHead, 'status' | 'statusMessage' | 'fields'>;

/** 1xx but not 101: an answer before the final one. */
export function isInterim(status: number): boolean {
  return status >= 100 && status < 200 && status !== 101;
}

/**
 * An interim answer (102 Processing, 103 Early Hints, any 1xx but 100 and 101) as the client gets
 * it, on the upgrade path and the ordinary one alike: a proxy forwards 1xx answers (RFC 9110
 * §15.2), as Go's ReverseProxy and HAProxy do, cleaned as a relayed head is: hop-by-hop fields
 * (and those named in Connection) and X-Kaizen-* dropped, and no framing fields, which a 1xx
 * never has (not chunked, framed by Transfer-Encoding: neither Transfer-Encoding, Trailer nor
 * Content-Length goes on).
 */
export function interimHeadText(head: InterimHead): string {
  const fields = forwardResponseHeaders(head.fields, false, true);
  let text = `HTTP/1.1 ${String(head.status)} ${head.statusMessage}\r\n`;
  for (let i = 0; i + 1 < fields.length; i += 2) text += `${fields[i] ?? ''}: ${fields[i + 1] ?? ''}\r\n`;
  return `${text}\r\n`;
}

/**
 * Relays an interim answer to an ordinary request's client, before its final head: a 100 only to
 * a client that asked for one (`continues`: it sent Expect, which node:http and the fast lane let
 * through only as 100-continue), any other to an HTTP/1.1 client, never an HTTP/1.0 one (RFC 9110
 * §15.2: it cannot read them). node:http's response to a request pipelined behind an unfinished
 * one has no socket yet, and what is written now would land inside the earlier answer: its
 * interim answers are not relayed (node:http has no public way to queue a raw 1xx head).
 */
export function relayInterim(req: RequestView, res: ResponseView, head: InterimHead, continues: boolean): void {
  if (res.headersSent || res.destroyed) return;
  if (head.status === 100) {
    if (continues) res.writeContinue();
    return;
  }
  const socket = res.socket;
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor === 0 || socket === null || !socket.writable) return;
  socket.write(interimHeadText(head), 'latin1');
}
