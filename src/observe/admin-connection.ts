/**
 * One connection of the admin port: its heads read with a bound (admin-head-reader.ts), answered one
 * at a time in the order they came, each answer written whole before the next one is made. It holds
 * at most one incomplete head, a few parsed requests and one answer in flight, whatever the client
 * sends: a client that pipelines more than ADMIN_MAX_UNANSWERED requests ahead of their answers is
 * closed, and one that does not take its answers stops being read (so what it sends waits in the
 * kernel's buffers, not in the proxy's heap) until the idle deadline closes it.
 */
import type { Socket } from 'node:net';
import { AdminHeadReader } from './admin-head-reader.js';
import type { AdminRequest, HeadRefusal } from './admin-request-head.js';

/**
 * Requests one admin connection may have unanswered at once: heads received whose answers are not
 * yet written out (pipelined ahead of them); one more closes the connection, those included.
 * Probes and scrapers send one and wait for its answer.
 */
export const ADMIN_MAX_UNANSWERED = 4;
/** A request head must be complete this long after its first byte: probes and scrapes are small. */
export const ADMIN_HEAD_TIMEOUT_MS = 5_000;
/**
 * A connection with nothing received or written for this long is closed: idle (no request yet, or
 * between requests), or not taking an answer it was written. Each holds a descriptor the proxy port
 * needs. Also how long a closing connection is kept to read what the client still sends.
 */
export const ADMIN_IDLE_TIMEOUT_MS = 2_000;

/** What the admin port answers: the whole bytes of each answer, its head included. */
export interface AdminResponder {
  /** The answer to a request (never rejects: a failure is answered by the responder itself). */
  answer(request: AdminRequest): Promise<string>;
  /** The answer to a refused head; the connection closes after it. */
  refuse(status: HeadRefusal): string;
}

type Pending = AdminRequest | HeadRefusal;

export function serveAdminConnection(socket: Socket, responder: AdminResponder): void {
  const reader = new AdminHeadReader();
  /** Requests received and not yet being answered, in order (at most ADMIN_MAX_UNANSWERED). */
  const queue: Pending[] = [];
  /** Heads received whose answers are not written out yet: those queued and the one in flight. */
  let unanswered = 0;
  /** An answer is being made, or waits for 'drain'. */
  let answering = false;
  /** No more heads are read: a request that closes the connection (or a refusal) is queued, or the client sent its FIN. */
  let readingDone = false;
  let ending = false;
  let headTimer: NodeJS.Timeout | null = null;
  let lingerTimer: NodeJS.Timeout | null = null;

  const destroy = (): void => {
    socket.destroy();
  };
  const stopHeadTimer = (): void => {
    if (headTimer !== null) clearTimeout(headTimer);
    headTimer = null;
  };

  /** Closes our side once everything queued is answered, and reads (and drops) what still comes until the client closes its own. */
  const end = (): void => {
    if (ending) return;
    ending = true;
    stopHeadTimer();
    socket.end();
    socket.resume();
    // Not destroyed as soon as the answer is out: data the client sent after its last request,
    // unread, would make the close a reset, which can discard the answer before the client has
    // read it. Until the client's FIN (the connection then closes) or this deadline.
    socket.once('finish', () => {
      lingerTimer = setTimeout(destroy, ADMIN_IDLE_TIMEOUT_MS);
    });
  };

  const written = (): void => {
    answering = false;
    unanswered--;
    next();
  };

  const write = (text: string, last: boolean): void => {
    if (socket.destroyed) return;
    const flushed = socket.write(text);
    if (last) {
      end();
    } else if (flushed) {
      written();
    } else {
      // Nothing more is read until the client takes this answer.
      socket.pause();
      socket.once('drain', () => {
        socket.resume();
        written();
      });
    }
  };

  const next = (): void => {
    if (answering || socket.destroyed) return;
    const pending = queue.shift();
    if (pending === undefined) {
      if (readingDone) end();
      return;
    }
    answering = true;
    if (typeof pending === 'number') {
      write(responder.refuse(pending), true);
      return;
    }
    const last = pending.close || (readingDone && queue.length === 0);
    responder.answer(pending).then(
      (text) => {
        write(text, last);
      },
      destroy,
    );
  };

  const onHead = (request: AdminRequest): boolean => {
    unanswered++;
    if (unanswered > ADMIN_MAX_UNANSWERED) {
      destroy();
      return false;
    }
    queue.push(request);
    if (!request.close) return true;
    // Nothing after a request that closes the connection is read as a request (a body above all).
    readingDone = true;
    return false;
  };

  socket.on('data', (chunk: Buffer) => {
    if (readingDone) return;
    const wasInHead = reader.inHead;
    let heads = 0;
    const refusal = reader.read(chunk, (request) => {
      heads++;
      return onHead(request);
    });
    if (socket.destroyed) return;
    if (refusal !== null) {
      queue.push(refusal);
      readingDone = true;
    }
    if (readingDone || !reader.inHead) stopHeadTimer();
    // A head's deadline runs from its first byte: a new one started in this read.
    else if (!wasInHead || heads > 0) {
      stopHeadTimer();
      headTimer = setTimeout(destroy, ADMIN_HEAD_TIMEOUT_MS);
    }
    next();
  });
  // The client is done sending (its FIN; the server allows half-open connections): what it sent is
  // answered, then the connection ends. An incomplete head is dropped.
  socket.on('end', () => {
    readingDone = true;
    stopHeadTimer();
    next();
  });
  socket.setTimeout(ADMIN_IDLE_TIMEOUT_MS, destroy);
  socket.on('error', destroy);
  socket.on('close', () => {
    stopHeadTimer();
    if (lingerTimer !== null) clearTimeout(lingerTimer);
  });
}
