import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** A request body as node:http reads it: a stream, and the client connection whose reads bring it. */
export type RequestBody = Readable & { readonly socket: Pick<Socket, 'bytesRead'> };

/** How a request's body goes out (origin-connection.ts's OriginRequest). */
export interface BodyFraming {
  /**
   * The head says `Transfer-Encoding: chunked`: the body is framed here, and `trailers` (raw
   * name/value pairs, read once the body ended) follow the last chunk.
   */
  readonly chunked?: { readonly trailers: () => readonly string[] };
  /** Told of each piece of the body as it is written (bytes_up). */
  readonly onBodyChunk?: (length: number) => void;
}

/**
 * Streams a request body to the destination with backpressure; `owner.bodyDone()` once it is all
 * written. Returns what takes its listeners off.
 *
 * node:http hands over a chunked body chunk by chunk: written as they came, a client sending
 * 1-byte chunks cost a write and a chunk-size line per byte, one system call each, and held the
 * event loop from every other client. Chunk boundaries are hop-by-hop, so the chunks that follow
 * the first of one read (the client connection's bytesRead unchanged) are gathered and go out as
 * one chunk, in one write: once this turn's reads are handled (setImmediate; node:http runs the
 * nextTick queue after each chunk it hands over, so a nextTick would come between chunks), or
 * before the next read's first chunk, or before the last chunk. A body that comes one chunk per
 * read, the usual case, is written as it comes, with nothing gathered, scheduled or made for it.
 * Backpressure is as before, read by read: a write the socket cannot take pauses the body, which
 * holds what follows until 'drain'.
 */
export function pumpBody(owner: { bodyDone(): void }, request: BodyFraming, body: RequestBody, socket: Socket): () => void {
  const chunked = request.chunked;
  const client = body.socket;
  /** The client connection's bytesRead at the last chunk. */
  let read = -1;
  /** The chunks after the first of one read, until flush writes them (null: none). */
  let gathered: Buffer[] | null = null;
  /** Made the first time one read brings several chunks. */
  let flush: (() => void) | null = null;
  const onData = (chunk: Buffer): void => {
    if (chunk.length === 0) return;
    const now = client.bytesRead;
    if (now === read) {
      if (gathered !== null) {
        gathered.push(chunk);
        return;
      }
      gathered = [chunk];
      flush ??= (): void => {
        const chunks = gathered;
        gathered = null;
        if (chunks === null) return;
        const joined = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        request.onBodyChunk?.(joined.length);
        writeChunk(socket, chunked !== undefined, body, joined);
      };
      setImmediate(flush);
      return;
    }
    read = now;
    // The last read's gathered chunks go first (its setImmediate then finds nothing to write).
    if (gathered !== null) flush?.();
    request.onBodyChunk?.(chunk.length);
    writeChunk(socket, chunked !== undefined, body, chunk);
  };
  const onDrain = (): void => {
    body.resume();
  };
  const onEnd = (): void => {
    if (gathered !== null) flush?.();
    unhook();
    if (chunked !== undefined) socket.write(lastChunk(chunked.trailers()), 'latin1');
    owner.bodyDone();
  };
  const unhook = (): void => {
    // What is gathered is dropped with the exchange (a pending flush finds nothing).
    gathered = null;
    body.off('data', onData);
    body.off('end', onEnd);
    socket.off('drain', onDrain);
  };
  body.on('data', onData);
  body.once('end', onEnd);
  socket.on('drain', onDrain);
  body.resume();
  return unhook;
}

/** Writes one piece of the body (as one chunk when `chunked`); pauses the body when the socket is full. */
function writeChunk(socket: Socket, chunked: boolean, body: Readable, chunk: Buffer): void {
  let flowing: boolean;
  if (!chunked) flowing = socket.write(chunk);
  else {
    socket.cork();
    socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    socket.write(chunk);
    flowing = socket.write('\r\n', 'latin1');
    socket.uncork();
  }
  if (!flowing) body.pause();
}

/** The last chunk of a chunked body with its trailer section (names and values as node:http parsed them). */
function lastChunk(trailers: readonly string[]): string {
  let text = '0\r\n';
  for (let i = 0; i + 1 < trailers.length; i += 2) text += `${trailers[i] ?? ''}: ${trailers[i + 1] ?? ''}\r\n`;
  return `${text}\r\n`;
}
