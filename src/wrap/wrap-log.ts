import { closeSync, openSync } from 'node:fs';
import { pino, type DestinationStream, type StreamEntry } from 'pino';
import type { LogLevel } from '../config/types.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { shortLine } from './short-line.js';

export interface WrapLogOptions {
  /** The configured level: what goes to the log file. */
  readonly level: LogLevel;
  /** Full JSON lines go here when given (appended); otherwise nowhere. */
  readonly logFile: string | null;
  /** Where warnings and errors go as one short line each (the wrapper's stderr). */
  readonly notices: (line: string) => void;
}

export interface WrapLog {
  readonly logger: Logger;
  /** Flushes and closes the log file. */
  close(): Promise<void>;
}

const ORDER: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * The proxy's logger in wrap mode: stdout belongs to the child, so nothing is written there.
 * Warnings and worse become one short line on stderr; every line at the configured level goes to
 * the log file when one is named. Opening the file happens here, synchronously, so a bad path is
 * an error before the child starts (it throws the fs error).
 */
export function createWrapLog(options: WrapLogOptions): WrapLog {
  const stderrLevel = higher(options.level, 'warn');
  const streams: StreamEntry[] = [];
  if (stderrLevel !== 'silent') {
    const write = (line: string): void => {
      options.notices(`${shortLine(line)}\n`);
    };
    streams.push({ level: stderrLevel, stream: { write } });
  }
  let file: ReturnType<typeof pino.destination> | null = null;
  if (options.logFile !== null && options.level !== 'silent') {
    const fd = openSync(options.logFile, 'a');
    try {
      file = pino.destination({ fd, sync: false });
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    streams.push({ level: options.level, stream: file });
  }
  const loggerLevel = file !== null ? options.level : stderrLevel;
  const destination: DestinationStream = pino.multistream(streams);
  const logger = createLogger({ level: loggerLevel, destination });
  return {
    logger,
    close: () => (file === null ? Promise.resolve() : endFile(file)),
  };
}

function higher(a: LogLevel, b: LogLevel): LogLevel {
  return ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b;
}

function endFile(file: ReturnType<typeof pino.destination>): Promise<void> {
  return new Promise<void>((resolve) => {
    file.once('close', () => {
      resolve();
    });
    file.once('error', () => {
      resolve();
    });
    file.end();
  });
}
