import { write as fsWrite, writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';
import { registerForExit } from './destinations-at-exit.js';
import { nonBlockingPipe } from './nonblocking-pipe.js';

/**
 * Lines are held until this many characters are waiting, or FLUSH_INTERVAL_MS has passed. Each
 * asynchronous write costs the process 50-60 µs of CPU (a thread-pool round trip: batches of 2
 * KiB cost 1.09x CPU per new tunnel against 16 KiB, bench/paired.mjs --mode conc); 64 KiB against 16
 * KiB: 0.974x on Node 20, 0.985x and 0.992x on Node 24.
 */
const MIN_WRITE_CHARS = 64 * 1024;
const FLUSH_INTERVAL_MS = 200;
/** Past this much unwritten log (a reader that stopped reading), new lines are dropped and counted. */
const MAX_PENDING_CHARS = 32 * 1024 * 1024;
/** What a deferred line counts for against the batch size and the bound before it is formatted (the data plane's lines run 200-300). */
const DEFERRED_LINE_CHARS = 256;
/** A non-blocking stdout that is full (EAGAIN) is retried after this long. */
const RETRY_MS = 10;
/** flushSync gives a full stdout this many retries (about 5 s) by default before it gives up at exit. */
const SYNC_RETRIES = 500;

/** A line whose text is made when its batch is written, not when it is logged (see writeLater). */
export interface DeferredLine {
  /** The whole line, newline included; called once. */
  toLine(): string;
}

export interface StdoutDestination extends DestinationStream {
  /**
   * Hold a line and make its text when its batch is written, in its place among the others. The
   * data plane's two lines per tunnel are made there, one after another, instead of each in the
   * middle of a tunnel's work, where the code and data that make them have gone cold
   * (bench/paired.mjs, decision and closed lines deferred: CPU per new tunnel 0.957x at 50
   * concurrent on Node 24; p50 0.978x for sequential tunnels on Node 20). A line whose text cannot
   * be made (a bug) is replaced by a KZP_ERR_LOG_LINE warning; the batch goes on.
   */
  writeLater(line: DeferredLine): boolean;
  /** Start writing what is held now; `done` runs once it is written (or failed). */
  flush(done?: (error?: Error) => void): void;
  /** Write everything held, synchronously (process exit), retrying a full stdout `retries` times RETRY_MS apart. */
  flushSync(retries?: number): void;
}

/**
 * Standard output for the log lines, written in batches from the main thread's point of view: a line
 * is appended to an array (pino's own destination, sonic-boom, measures the whole pending string on
 * every line: 5.5 µs a line against 0.3 µs here, 200,000 lines in process; it was 5% of the proxy's
 * CPU in bench/profile.mjs http), and a batch is joined,
 * encoded once and handed to one asynchronous write when MIN_WRITE_CHARS are waiting or
 * FLUSH_INTERVAL_MS has passed. Order is kept: one write at a time, the rest waits behind it.
 * Short writes continue where they stopped; a full non-blocking pipe (EAGAIN) is retried; past
 * MAX_PENDING_CHARS lines are dropped and their count is written once writing resumes. Whatever is
 * held at exit is written synchronously, after the rest of a batch that was waiting for its retry.
 * When fd is a pipe, batches go to a non-blocking description of its own (nonblocking-pipe.ts),
 * written from the main thread: such a write never waits, and no thread is left inside one.
 */
export function createStdoutDestination(fd = 1, limits: Partial<WriterLimits> = {}): StdoutDestination {
  const pipe = nonBlockingPipe(fd);
  const writer = new BatchedFdWriter(pipe ?? fd, pipe !== null, { minWriteChars: MIN_WRITE_CHARS, maxPendingChars: MAX_PENDING_CHARS, ...limits });
  registerForExit(writer);
  return writer;
}

/** Batch size and the bound on unwritten lines (tests shrink them). */
export interface WriterLimits {
  readonly minWriteChars: number;
  readonly maxPendingChars: number;
}

class BatchedFdWriter implements StdoutDestination {
  readonly #fd: number;
  /** fd never blocks (nonBlockingPipe, or it answered EAGAIN): batches are written from the main thread, not the thread pool. */
  #inline: boolean;
  readonly #limits: WriterLimits;
  #lines: (string | DeferredLine)[] = [];
  #chars = 0;
  #writing = false;
  #dropped = 0;
  #waiters: ((error?: Error) => void)[] = [];
  /** The batch being written and how far it got, while a write of it waits for a retry (EAGAIN). */
  #retrying: { readonly data: Buffer; readonly offset: number; readonly timer: NodeJS.Timeout } | null = null;
  /** The pending FLUSH_INTERVAL_MS flush, armed by the first line held (no timer while nothing is). */
  #timer: NodeJS.Timeout | null = null;

  constructor(fd: number, inline: boolean, limits: WriterLimits) {
    this.#fd = fd;
    this.#inline = inline;
    this.#limits = limits;
  }

  write(line: string): boolean {
    return this.#hold(line, line.length);
  }

  writeLater(line: DeferredLine): boolean {
    return this.#hold(line, DEFERRED_LINE_CHARS);
  }

  #hold(line: string | DeferredLine, chars: number): boolean {
    if (this.#chars + chars > this.#limits.maxPendingChars) {
      this.#dropped++;
      this.#armFlush();
      return false;
    }
    this.#lines.push(line);
    this.#chars += chars;
    if (this.#chars >= this.#limits.minWriteChars && !this.#writing) this.#writeBatch();
    else this.#armFlush();
    return true;
  }

  flush(done?: (error?: Error) => void): void {
    if (done !== undefined) {
      if (!this.#writing && this.#chars === 0 && this.#dropped === 0) {
        queueMicrotask(done);
        return;
      }
      this.#waiters.push(done);
    }
    if (!this.#writing) this.#writeBatch();
  }

  flushSync(retries = SYNC_RETRIES): void {
    // A batch that a full stdout turned back goes first, from where it stopped: it is older than
    // anything held, and no write of it is in flight to race this one.
    const retrying = this.#retrying;
    if (retrying !== null) {
      clearTimeout(retrying.timer);
      this.#retrying = null;
      if (!this.#writeAllSync(retrying.data, retrying.offset, retries)) return;
    }
    this.#writeAllSync(this.#takeBatch(), 0, retries);
  }

  /** Writes data from offset on, waiting out a full non-blocking stdout; false when it could not. */
  #writeAllSync(data: Buffer, from: number, retries: number): boolean {
    let offset = from;
    for (let attempt = 0; offset < data.length; ) {
      try {
        offset += writeSync(this.#fd, data, offset, data.length - offset);
      } catch (error) {
        if (!isRetryable(error) || attempt >= retries) return false;
        attempt++;
        Atomics.wait(SLEEP, 0, 0, RETRY_MS);
      }
    }
    return true;
  }

  /** The held lines as one buffer, deferred ones made now (and a note for dropped ones); nothing is held afterwards. */
  #takeBatch(): Buffer {
    if (this.#dropped > 0) {
      const time = new Date().toISOString();
      this.#lines.push(`{"level":"warn","time":"${time}","name":"kaizen-proxy","code":"KZP_ERR_LOG_DROPPED","dropped":${String(this.#dropped)},"msg":"log lines dropped: standard output was not being read"}\n`);
      this.#dropped = 0;
    }
    const lines = this.#lines;
    this.#lines = [];
    const text = lines.map(lineText).join('');
    this.#chars = 0;
    return Buffer.from(text, 'utf8');
  }

  #writeBatch(): void {
    const data = this.#takeBatch();
    if (data.length === 0) {
      this.#settle();
      return;
    }
    this.#writing = true;
    this.#writeFrom(data, 0);
  }

  #writeFrom(data: Buffer, offset: number): void {
    if (this.#inline) {
      this.#writeInline(data, offset);
      return;
    }
    fsWrite(this.#fd, data, offset, data.length - offset, null, (error, written) => {
      this.#wrote(data, offset, error, written);
    });
  }

  /** As much as the non-blocking pipe takes now, from the main thread. */
  #writeInline(data: Buffer, offset: number): void {
    let at = offset;
    try {
      while (at < data.length) at += writeSync(this.#fd, data, at, data.length - at);
    } catch (error) {
      this.#wrote(data, at, error as NodeJS.ErrnoException, 0);
      return;
    }
    this.#afterWrite();
  }

  #wrote(data: Buffer, offset: number, error: NodeJS.ErrnoException | null, written: number): void {
    if (error !== null) {
      if (isRetryable(error)) {
        // EAGAIN: the descriptor is non-blocking (someone else made it so: node:net does, for a
        // pipe, once process.stdout is touched). Writes from the main thread then never wait, and
        // none is left in the thread pool at exit with a part written that nobody can know of
        // (the destination's test "finishes the batch that a full pipe turned back" cut a line in 2
        // runs of 30 that way).
        if (error.code === 'EAGAIN') this.#inline = true;
        // Kept referenced, like the write itself: a process ending on its own waits for its log.
        const timer = setTimeout(() => {
          this.#retrying = null;
          this.#writeFrom(data, offset);
        }, RETRY_MS);
        this.#retrying = { data, offset, timer };
        return;
      }
      // stdout is gone (EPIPE, closed): there is nowhere to report it; drop the batch.
      this.#afterWrite(error);
      return;
    }
    if (offset + written < data.length) {
      this.#writeFrom(data, offset + written);
      return;
    }
    this.#afterWrite();
  }

  #afterWrite(error?: Error): void {
    this.#writing = false;
    if (this.#chars >= this.#limits.minWriteChars || (this.#waiters.length > 0 && (this.#chars > 0 || this.#dropped > 0))) {
      this.#writeBatch();
      return;
    }
    // Lines that came in during the write, too few for a batch, go out with the next flush.
    if (this.#chars > 0 || this.#dropped > 0) this.#armFlush();
    this.#settle(error);
  }

  /**
   * Lines are held: make sure a flush comes within FLUSH_INTERVAL_MS. A timer per held batch
   * rather than a standing interval, so an idle proxy's log never wakes it (an interval did, five
   * times a second). Unreferenced: what is held at exit is written by flushSync.
   */
  #armFlush(): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush();
    }, FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  #settle(error?: Error): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    // Never inside the caller's flush(): an inline write settles in the same turn.
    queueMicrotask(() => {
      for (const done of waiters) done(error);
    });
  }
}

/** A held line's text (a module function, not a closure per batch: see src/proxy/connect-tunnel.ts). */
function lineText(line: string | DeferredLine): string {
  return typeof line === 'string' ? line : madeLine(line);
}

/** A deferred line's text; made inside a write, where a throw would end the process, so it cannot throw. */
function madeLine(line: DeferredLine): string {
  try {
    return line.toLine();
  } catch {
    return `{"level":"warn","time":"${new Date().toISOString()}","name":"kaizen-proxy","code":"KZP_ERR_LOG_LINE","msg":"a log line could not be written"}\n`;
  }
}

const SLEEP = new Int32Array(new SharedArrayBuffer(4));

function isRetryable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'EAGAIN' || code === 'EBUSY';
}
