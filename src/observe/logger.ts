import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/types.js';

export type { Logger } from 'pino';

/**
 * Paths that may carry credentials anywhere in a log object. Our own lines never put them there;
 * redaction is the second lock on the door.
 */
const REDACT_PATHS = [
  'apiKey',
  'api_key',
  'authorization',
  'cookie',
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.apiKey',
  '*.authorization',
  '*.cookie',
  '*["proxy-authorization"]',
];

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly destination?: DestinationStream;
}

/** The one root logger; everything else is a child of it with constant field names. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { name: 'kaizen-proxy' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
