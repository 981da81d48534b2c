import type { Action } from './action.js';
import type { Decision } from './decision.js';
import type { ErrorCode } from '../errors/codes.js';

/** One action decided by the transport (one per tunnel, one per HTTP request). */
export interface DecisionEvent {
  readonly agent: string;
  readonly action: Action;
  readonly decision: Decision;
  /** Time from the start of the decision to its result, in milliseconds. */
  readonly ms: number;
}

/** One finished tunnel or request (allowed or refused). */
export interface ClosedEvent {
  readonly agent: string;
  readonly action: Action;
  /** HTTP status answered to the client (200 for an established tunnel), 0 when the client went away first. */
  readonly status: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly durationMs: number;
  /** Stable error code when the exchange failed (upstream refused, timeout...). */
  readonly error?: string;
}

/** A client refused before any action existed: a limit, gateway credentials, an unrecoverable redirect. */
export interface RefusedEvent {
  readonly code: ErrorCode;
  /** A short constant naming why (e.g. "no_sni", "max_connections"), for metrics labels and logs. */
  readonly reason: string;
}

/**
 * A client refused because the process ran out of file descriptors: `EMFILE` (its RLIMIT_NOFILE)
 * or `ENFILE` (the system's). `connect`: a dial found none, its client answered 503
 * KZP_ERR_LIMIT_CONNECTIONS; `accept`: a listener reported a client it could only close unanswered.
 */
export interface ExhaustedEvent {
  readonly reason: 'EMFILE' | 'ENFILE';
  readonly syscall: 'connect' | 'accept';
}

/**
 * What the transport tells the rest of the product: logs, metrics, the wrap-mode summary and the
 * observed-egress record all subscribe here. Observers must be cheap and must never throw.
 */
export interface ProxyObserver {
  /** A client connection was admitted (before any byte of it is read). */
  accepted?(): void;
  decided?(event: DecisionEvent): void;
  closed?(event: ClosedEvent): void;
  refused?(event: RefusedEvent): void;
  exhausted?(event: ExhaustedEvent): void;
}

/** Fan one event stream out to several observers; an observer that throws is isolated. */
export function combineObservers(observers: readonly ProxyObserver[]): ProxyObserver {
  const accepters = observers.filter((o) => o.accepted !== undefined);
  const deciders = observers.filter((o) => o.decided !== undefined);
  const closers = observers.filter((o) => o.closed !== undefined);
  const refusers = observers.filter((o) => o.refused !== undefined);
  const exhaustions = observers.filter((o) => o.exhausted !== undefined);
  return {
    accepted() {
      for (const o of accepters) {
        try {
          o.accepted?.();
        } catch {
          // an observer must never break the data plane
        }
      }
    },
    decided(event) {
      for (const o of deciders) {
        try {
          o.decided?.(event);
        } catch {
          // an observer must never break the data plane
        }
      }
    },
    closed(event) {
      for (const o of closers) {
        try {
          o.closed?.(event);
        } catch {
          // an observer must never break the data plane
        }
      }
    },
    refused(event) {
      for (const o of refusers) {
        try {
          o.refused?.(event);
        } catch {
          // an observer must never break the data plane
        }
      }
    },
    exhausted(event) {
      for (const o of exhaustions) {
        try {
          o.exhausted?.(event);
        } catch {
          // an observer must never break the data plane
        }
      }
    },
  };
}
