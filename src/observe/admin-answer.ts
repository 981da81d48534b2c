/**
 * The bytes of one admin answer: status line, the headers node:http sent for them before the admin
 * port had its own reader (Content-Type, Content-Length, `Cache-Control: no-store`, Date, the
 * connection's fate), and the body unless the request was HEAD. Built whole so that the answer
 * leaves in one write: the connection then knows at once whether the client is taking it.
 */
import { ADMIN_IDLE_TIMEOUT_MS } from './admin-connection.js';

export interface AdminAnswer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
  /** A 405's `Allow`. */
  readonly allow?: string;
}

/** The statuses the admin port answers, with their reason phrases. */
const REASONS: ReadonlyMap<number, string> = new Map([
  [200, 'OK'],
  [400, 'Bad Request'],
  [404, 'Not Found'],
  [405, 'Method Not Allowed'],
  [431, 'Request Header Fields Too Large'],
  [500, 'Internal Server Error'],
  [503, 'Service Unavailable'],
]);

/** `head`: the request was HEAD (Content-Length still that of the body it would have had). `close`: the connection ends after it. */
export function answerBytes(answer: AdminAnswer, head: boolean, close: boolean): string {
  let text = `HTTP/1.1 ${answer.status} ${REASONS.get(answer.status) ?? 'Unknown'}\r\n`;
  if (answer.allow !== undefined) text += `Allow: ${answer.allow}\r\n`;
  text += `Content-Type: ${answer.type}\r\nContent-Length: ${Buffer.byteLength(answer.body)}\r\nCache-Control: no-store\r\n`;
  text += `Date: ${new Date().toUTCString()}\r\n`;
  text += close ? 'Connection: close\r\n\r\n' : `Connection: keep-alive\r\nKeep-Alive: timeout=${ADMIN_IDLE_TIMEOUT_MS / 1000}\r\n\r\n`;
  return head ? text : text + answer.body;
}
