import type { ProxyObserver } from '../contract/observer.js';
import type { Exhaustion } from '../net/descriptor-exhaustion.js';
import { createKeyedRateGate } from '../observe/keyed-rate-gate.js';
import type { Logger } from '../observe/logger.js';
import { statusForCode, type Refusal } from './refusal.js';

/** One `refused` line per limit (and client) in this long; the next one says how many were held back. */
const LINE_INTERVAL_MS = 10_000;
/**
 * Clients remembered for their lines. A client refused by max_connections_per_client holds that
 * many connections, so few can be refused at once; past this many the least recent is forgotten.
 */
const LINE_KEYS = 1_024;

/**
 * The `refused` lines of the connection limits (connection-limits.ts). A client past a limit that
 * keeps reconnecting would write one identical line per attempt, so the lines are rate-limited:
 * at most one every 10 s per client for max_connections_per_client, and one for max_connections
 * (the proxy's limit, not a client's: a flood from many addresses still writes one line), each
 * carrying in `suppressed` how many were held back since the last. `client` names the address
 * refused where the proxy reads client addresses (ConnectionRegistry.readClientAddresses): null
 * leaves it out, as on the closed lines. Only refusals reach here: an admitted connection costs
 * nothing more. The metric (kaizen_proxy_limit_refusals_total) still counts every refusal: the
 * connection limits' through the observer's refused events, those for want of descriptors through
 * its exhausted events, sent from here (every one, whether its line is written or held back).
 */
export interface LimitRefusalLog {
  /** max_connections reached. */
  connections(refusal: Refusal, maxConnections: number, client: string | null): void;
  /** `client` already holds max_connections_per_client connections. */
  clientConnections(refusal: Refusal, maxConnectionsPerClient: number, client: string): void;
  /**
   * The process ran out of descriptors (`reason`: EMFILE, its RLIMIT_NOFILE; ENFILE, the system's):
   * on a dial (`connect`) the client was answered 503 KZP_ERR_LIMIT_CONNECTIONS with Retry-After;
   * on an `accept` it could only be closed unanswered (status 0). One line per reason and syscall.
   */
  descriptors(reason: Exhaustion, syscall: 'connect' | 'accept'): void;
}

const DESCRIPTORS = 'KZP_ERR_LIMIT_CONNECTIONS';

export interface LimitRefusalLogOptions {
  /** Told of every refusal for want of descriptors (the metrics); none when null or absent. */
  readonly observer?: ProxyObserver | null;
  readonly now?: () => number;
}

export function createLimitRefusalLog(logger: Logger, options: LimitRefusalLogOptions = {}): LimitRefusalLog {
  const gate = createKeyedRateGate(LINE_INTERVAL_MS, LINE_KEYS, options.now ?? (() => performance.now()));
  const observer = options.observer ?? null;
  return {
    connections(refusal, maxConnections, client) {
      const passed = gate.pass(refusal.code);
      if (!passed.open) return;
      const named = client === null ? {} : { client };
      logger.warn({ status: refusal.status, code: refusal.code, ...named, max_connections: maxConnections, suppressed: passed.suppressed }, 'refused');
    },
    clientConnections(refusal, maxConnectionsPerClient, client) {
      const passed = gate.pass(`${refusal.code} ${client}`);
      if (!passed.open) return;
      logger.warn({ status: refusal.status, code: refusal.code, client, max_connections_per_client: maxConnectionsPerClient, suppressed: passed.suppressed }, 'refused');
    },
    descriptors(reason, syscall) {
      tellExhausted(observer, reason, syscall);
      const passed = gate.pass(`${DESCRIPTORS} ${reason} ${syscall}`);
      if (!passed.open) return;
      // Unanswered on accept: status 0, as a closed line says of a client that read nothing.
      const status = syscall === 'connect' ? statusForCode(DESCRIPTORS) : 0;
      logger.warn({ status, code: DESCRIPTORS, reason, syscall, suppressed: passed.suppressed }, 'refused');
    },
  };
}

function tellExhausted(observer: ProxyObserver | null, reason: Exhaustion, syscall: 'connect' | 'accept'): void {
  if (observer?.exhausted === undefined) return;
  try {
    observer.exhausted({ reason, syscall });
  } catch {
    // An observer must never break the data plane.
  }
}
