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
}

/**
 * One info line for the data plane's per-action lines (decision, closed), byte for byte what
 * `log.info(object, msg)` writes with createLogger's options (level label, time, the logger's
 * bindings, the fields, msg), from fields the caller already wrote with the writers above. pino's
 * generic serializer walks every key through its serializer and stringifier tables; for two lines
 * per request that was about 10% of the proxy's CPU. Keys must be constant, credential-free names
 * (the credential serializers are not consulted). Falls back to `log.info` if pino's internals differ.
 */
export function writeInfoLine(log: Logger, fields: string, msg: string): void {
  if (!log.isLevelEnabled('info')) return;
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as PinoStream | undefined;
  const bindings = internals[pino.symbols.chindingsSym];
  const time = internals[pino.symbols.timeSym];
  if (typeof stream?.write !== 'function' || typeof bindings !== 'string' || typeof time !== 'function') {
    log.info(JSON.parse(`{${fields.slice(1)}}`) as Record<string, LineValue>, msg);
    return;
  }
  const now = (time as () => string)();
  stream.write(`{"level":"info"${now}${bindings}${fields},"msg":${quoted(msg)}}\n`);
}
