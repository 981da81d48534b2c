import { readFileSync } from 'node:fs';
import type { Logger } from '../observe/logger.js';

/** Descriptors one admitted connection may hold: the client's socket and its destination's. */
const PER_CONNECTION = 2;
/**
 * Descriptors the proxy needs beside its connections: the listeners, the admin port's connections
 * (at most 64, admin-server.ts), the log and spool files, the control plane's and the DNS
 * resolver's sockets, the epoll, eventfd and libuv's spare descriptor, idle pooled connections.
 */
export const DESCRIPTOR_RESERVE = 128;

/** RLIMIT_NOFILE as /proc/self/limits reports it; Infinity for unlimited. */
export interface OpenFilesLimit {
  readonly soft: number;
  readonly hard: number;
}

/** The `Max open files` row of /proc/self/limits, or null when it is not there. */
export function parseOpenFilesLimit(limits: string): OpenFilesLimit | null {
  const row = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (row === null) return null;
  const soft = limitValue(row[1]);
  const hard = limitValue(row[2]);
  return soft === null || hard === null ? null : { soft, hard };
}

/** This process's limit (Linux), or null where /proc is not readable. */
export function readOpenFilesLimit(): OpenFilesLimit | null {
  try {
    return parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Warn at start when the descriptors cannot carry limits.max_connections (two per tunnel plus a
 * reserve): past them the proxy answers 503 KZP_ERR_LIMIT_CONNECTIONS before max_connections is
 * reached, and an accept that finds none left can only be closed unanswered. Node has no
 * setrlimit, but raises the soft limit to the hard one itself as it starts (where the system lets
 * it): a soft limit still below the hard one is told apart, since `ulimit -n` can raise it.
 */
export function warnOnDescriptorBudget(logger: Logger, maxConnections: number, limit: OpenFilesLimit | null = readOpenFilesLimit()): void {
  if (limit === null) return;
  if (limit.soft < limit.hard) {
    logger.warn({ open_files_limit: limit.soft, open_files_hard_limit: limit.hard }, 'the soft open files limit is below the hard limit and could not be raised: raise it with ulimit -n');
  }
  const needed = maxConnections * PER_CONNECTION + DESCRIPTOR_RESERVE;
  if (needed <= limit.soft) return;
  logger.warn(
    {
      max_connections: maxConnections,
      descriptors_needed: needed,
      open_files_limit: limit.soft,
      max_connections_reachable: Math.max(0, Math.floor((limit.soft - DESCRIPTOR_RESERVE) / PER_CONNECTION)),
    },
    'limits.max_connections needs more file descriptors than RLIMIT_NOFILE allows: past them clients get 503 KZP_ERR_LIMIT_CONNECTIONS early; raise the limit (ulimit -n) or lower max_connections',
  );
}

function limitValue(text: string | undefined): number | null {
  if (text === 'unlimited') return Number.POSITIVE_INFINITY;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : null;
}
