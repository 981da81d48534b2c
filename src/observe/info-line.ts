import { pino, type Logger } from 'pino';

/** What the hot lines carry: pino writes these as JSON literals. */
export type LineValue = string | number | boolean | null;

/**
 * Printable ASCII without `"` and `\\`: a JSON string as it stands. A loop, not a regex: the regex
 * test was the largest single cost of the two per-request lines (bench/profile.mjs http, perf).
 */
function isVerbatim(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

/** A JSON string literal, as pino's serializer writes it. */
export function quoted(value: string): string {
  return isVerbatim(value) ? `"${value}"` : JSON.stringify(value);
}

/** `,"key":"value"`, or `,"key":null`. Most values (agents, targets, methods, reasons) need no escaping. */
export function textField(key: string, value: string | null): string {
  return value === null ? `,"${key}":null` : `,"${key}":${quoted(value)}`;
}

/** `,"key":n`; non-finite numbers become null, as pino writes them. */
export function numberField(key: string, value: number): string {
  if (Number.isInteger(value)) return `,"${key}":${value}`;
  return Number.isFinite(value) ? `,"${key}":${String(value)}` : `,"${key}":null`;
}

/**
 * `,"key":ms` with ms rounded to hundredths: what numberField writes for Math.round(ms * 100) / 100,
 * from the integer hundredths, without the shortest-double formatting (about a fifth of the cost of
 * the two lines: every `ms` and `duration_ms` has a fraction).
 */
export function millisField(key: string, ms: number): string {
  const hundredths = Math.round(ms * 100);
  if (!(hundredths >= 0 && hundredths <= Number.MAX_SAFE_INTEGER)) return numberField(key, hundredths / 100);
  const whole = Math.floor(hundredths / 100);
  const fraction = hundredths - whole * 100;
  if (fraction === 0) return `,"${key}":${whole}`;
  if (fraction % 10 === 0) return `,"${key}":${whole}.${fraction / 10}`;
  return `,"${key}":${whole}.${fraction < 10 ? '0' : ''}${fraction}`;
}

/** `,"key":value` for any line value (the typed writers above are what the hot lines use). */
export function field(key: string, value: LineValue): string {
  if (typeof value === 'string' || value === null) return textField(key, value);
  if (typeof value === 'number') return numberField(key, value);
  return `,"${key}":${String(value)}`;
}

interface PinoStream {
  write(line: string): unknown;
  /** pino sets it before each write to a stream that asks for metadata (a multistream routes by it). */
  lastLevel?: number;
  /** Ours (stdout-destination.ts): the line's text is made when its batch is written. */
  writeLater?: (line: InfoLine) => unknown;
}

/**
 * A data-plane info line (decision, closed): a subclass holds its values, taken when the line is
 * logged, and writes its fields with the writers above when asked. Its time and the logger's
 * bindings are stamped when it is logged; the text may be made later (writeLater).
 */
export abstract class InfoLine {
  readonly msg: string;
  #time = '';
  #bindings = '';

  constructor(msg: string) {
    this.msg = msg;
  }

  /** The fields, each `,"key":value` (the writers above), keys constant and credential-free. */
  abstract fields(): string;

  stamp(time: string, bindings: string): void {
    this.#time = time;
    this.#bindings = bindings;
  }

  toLine(): string {
    return `{"level":"info"${this.#time}${this.#bindings}${this.fields()},"msg":${quoted(this.msg)}}\n`;
  }
}

/** pino's mark on a stream that takes each record's level and fields beside its text (lib/multistream.js). */
const PINO_METADATA = Symbol.for('pino.metadata');

/** Where a logger's info lines go, read from pino's internals once per logger (see lineSinkOf). */
interface LineSink {
  readonly stream: PinoStream;
  readonly later: boolean;
  /** The stream asks for metadata (pino.multistream, wrap mode): it routes a line by lastLevel. */
  readonly metadata: boolean;
  readonly bindings: string;
  readonly time: () => string;
  /** pino's number for `info`: the line is written while the logger's level value is at most this. */
  readonly info: number;
}

/**
 * The last logger asked for and its sink. The data plane logs through one root logger, so one entry
 * serves every line; another logger replaces it. Four lookups of symbol-keyed properties on a
 * logger with some forty of them (and pino's isLevelEnabled) ran for every line before
 * (bench/paired.mjs --mode conc). A logger's bindings are read once: the data plane's loggers are
 * never given new ones (pino's setBindings) after they are made.
 */
let lastLogger: Logger | null = null;
let lastSink: LineSink | null = null;

/** The logger's sink, or null where pino's internals differ from what this module writes for. */
function lineSinkOf(log: Logger): LineSink | null {
  if (log === lastLogger) return lastSink;
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as PinoStream | undefined;
  const bindings = internals[pino.symbols.chindingsSym];
  const time = internals[pino.symbols.timeSym];
  const info = log.levels.values.info;
  const usable = typeof stream?.write === 'function' && typeof bindings === 'string' && typeof time === 'function' && typeof info === 'number';
  lastLogger = log;
  const metadata = usable && (stream as unknown as Record<symbol, unknown>)[PINO_METADATA] === true;
  lastSink = usable ? { stream, later: typeof stream.writeLater === 'function', metadata, bindings, time: time as () => string, info } : null;
  return lastSink;
}

/**
 * Log one info line byte for byte as `log.info(object, msg)` writes it with createLogger's options
 * (level label, time, the logger's bindings, the fields, msg). pino's generic serializer walks every
 * key through its serializer and stringifier tables; for two lines per request that was about 10%
 * of the proxy's CPU. The credential serializers are not consulted: keys must be constant,
 * credential-free names. Given to our destination's writeLater when it has one, else written now;
 * falls back to `log.info` if pino's internals differ.
 */
export function writeInfoRecord(log: Logger, line: InfoLine): void {
  const sink = lineSinkOf(log);
  if (sink === null) {
    if (log.isLevelEnabled('info')) log.info(JSON.parse(`{${line.fields().slice(1)}}`) as Record<string, LineValue>, line.msg);
    return;
  }
  // What isLevelEnabled('info') answers, without its lookups (the level may change at any time).
  if (log.levelVal > sink.info) return;
  line.stamp(sink.time(), sink.bindings);
  // pino sets this before its own writes; a multistream left with the last record's level (a
  // warning, say) would copy this info line to its warn-level streams (wrap mode's stderr).
  if (sink.metadata) sink.stream.lastLevel = sink.info;
  if (sink.later) sink.stream.writeLater?.(line);
  else sink.stream.write(line.toLine());
}
