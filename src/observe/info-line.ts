import { pino, type Logger } from 'pino';

/** What the hot lines carry: pino writes these as JSON literals. */
export type LineValue = string | number | boolean | null;

/** Printable ASCII without `"` and `\\`: a JSON string as it stands. */
const VERBATIM = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * `,"key":value` as pino's serializer writes it (non-finite numbers become null). Most values
 * (agents, targets, methods, reasons) need no escaping and skip JSON.stringify (half the cost).
 */
export function field(key: string, value: LineValue): string {
  if (typeof value === 'string') return VERBATIM.test(value) ? `,"${key}":"${value}"` : `,"${key}":${JSON.stringify(value)}`;
  if (typeof value === 'number' && !Number.isFinite(value)) return `,"${key}":null`;
  return `,"${key}":${String(value)}`;
}

interface PinoStream {
  write(line: string): unknown;
}

/**
 * One info line for the data plane's per-action lines (decision, closed), byte for byte what
 * `log.info(object, msg)` writes with createLogger's options (level label, time, the logger's
 * bindings, the fields, msg), from fields the caller already wrote with `field()`. pino's generic
 * serializer walks every key through its serializer and stringifier tables; for two lines per
 * request that was about 10% of the proxy's CPU. Keys must be constant, credential-free names (the
 * credential serializers are not consulted). Falls back to `log.info` if pino's internals differ.
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
  stream.write(`{"level":"info"${now}${bindings}${fields},"msg":${JSON.stringify(msg)}}\n`);
}
