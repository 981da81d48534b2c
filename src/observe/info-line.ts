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

/**
 * Log one info line byte for byte as `log.info(object, msg)` writes it with createLogger's options
 * (level label, time, the logger's bindings, the fields, msg). pino's generic serializer walks every
 * key through its serializer and stringifier tables; for two lines per request that was about 10%
 * of the proxy's CPU. The credential serializers are not consulted: keys must be constant,
 * credential-free names. Given to our destination's writeLater when it has one, else written now;
 * falls back to `log.info` if pino's internals differ.
 */
export function writeInfoRecord(log: Logger, line: InfoLine): void {
  if (!log.isLevelEnabled('info')) return;
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as PinoStream | undefined;
  const bindings = internals[pino.symbols.chindingsSym];
  const time = internals[pino.symbols.timeSym];
  if (typeof stream?.write !== 'function' || typeof bindings !== 'string' || typeof time !== 'function') {
    log.info(JSON.parse(`{${line.fields().slice(1)}}`) as Record<string, LineValue>, line.msg);
    return;
  }
  line.stamp((time as () => string)(), bindings);
  if (typeof stream.writeLater === 'function') stream.writeLater(line);
  else stream.write(line.toLine());
}
