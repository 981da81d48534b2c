import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What the plain-HTTP relay reads of a client's request. node:http's IncomingMessage is one; the
 * fast lane (fast-lane.ts) builds the other from a head it parsed itself. The body, when there is
 * one, travels separately as node:http's stream: fast-lane requests never have one.
 */
export type RequestView = Pick<
  IncomingMessage,
  'method' | 'url' | 'headers' | 'rawHeaders' | 'rawTrailers' | 'httpVersion' | 'httpVersionMajor' | 'httpVersionMinor'
> & { readonly socket: Socket };

/**
 * What the relay writes to a client: node:http's ServerResponse, or the fast lane's LeanResponse,
 * which keeps node:http's framing and connection rules (lean-response.ts).
 */
export interface ResponseView {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  readonly statusCode: number;
  /**
   * The client's socket while this response is the one it reads next (interim answers are written
   * to it before the head); null for node:http's response to a request pipelined behind an
   * unfinished one.
   */
  readonly socket: Socket | null;
  sendDate: boolean;
  /** Throws when a header cannot be written (node:http's ERR_INVALID_CHAR and kin). */
  writeHead(statusCode: number, statusMessage: string, headers: string[]): unknown;
  writeHead(statusCode: number, headers: string[]): unknown;
  writeContinue(): void;
  /** Send a head written but held for the first body bytes now. */
  flushHeaders(): void;
  /** false: stop until 'drain'. */
  write(chunk: Buffer): boolean;
  end(body?: string): unknown;
  addTrailers(trailers: [string, string][]): void;
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
  on(event: 'drain', listener: () => void): unknown;
}
