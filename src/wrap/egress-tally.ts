import type { ActionKind } from '../contract/action.js';
import type { ClosedEvent, DecisionEvent, ProxyObserver, RefusedEvent } from '../contract/observer.js';

/** What the child did with one destination (one kind of action on one host:port). */
export interface DestinationRow {
  readonly kind: ActionKind;
  /** Canonical "host:port". */
  readonly target: string;
  /** Actions decided: tunnels for `connect`, requests for `http`. */
  readonly count: number;
  readonly allowed: number;
  /** Refused by the proxy (enforced blocks, no-verdict refusals). */
  readonly blocked: number;
  /** Allowed in monitor mode but would have been refused. */
  readonly wouldBlock: number;
  readonly decision: 'allow' | 'block' | 'mixed';
  /** The latest reason a block (or would-block) was given; null when none. */
  readonly reason: string | null;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

/** Clients refused before any action existed (a limit, missing credentials...), per reason. */
export interface RefusalRow {
  readonly code: string;
  readonly reason: string;
  readonly count: number;
}

interface Entry {
  kind: ActionKind;
  target: string;
  allowed: number;
  blocked: number;
  wouldBlock: number;
  reason: string | null;
  bytesUp: number;
  bytesDown: number;
}

/** Counts the proxy's events per destination for the exit summary. Cheap: one Map lookup per event. */
export class EgressTally implements ProxyObserver {
  readonly #entries = new Map<string, Entry>();
  readonly #refusals = new Map<string, RefusalRow>();

  decided(event: DecisionEvent): void {
    const entry = this.#entry(event.action.kind, event.action.target);
    const { decision } = event;
    if (decision.enforce === 'refuse') {
      entry.blocked++;
      entry.reason = decision.reason;
    } else {
      entry.allowed++;
      if (decision.wouldBlock) {
        entry.wouldBlock++;
        entry.reason = decision.reason;
      }
    }
  }

  closed(event: ClosedEvent): void {
    const entry = this.#entry(event.action.kind, event.action.target);
    entry.bytesUp += event.bytesUp;
    entry.bytesDown += event.bytesDown;
  }

  refused(event: RefusedEvent): void {
    const key = `${event.code} ${event.reason}`;
    const seen = this.#refusals.get(key);
    this.#refusals.set(key, { code: event.code, reason: event.reason, count: (seen?.count ?? 0) + 1 });
  }

  refusals(): RefusalRow[] {
    return [...this.#refusals.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }

  /** Blocked destinations first (only blocked, then partly), most blocks first; then by traffic, then by name. */
  rows(): DestinationRow[] {
    const rows = [...this.#entries.values()].map(toRow);
    return rows.sort(
      (a, b) =>
        RANK[a.decision] - RANK[b.decision] ||
        b.blocked - a.blocked ||
        b.count - a.count ||
        b.bytesUp + b.bytesDown - (a.bytesUp + a.bytesDown) ||
        a.target.localeCompare(b.target) ||
        a.kind.localeCompare(b.kind),
    );
  }

  #entry(kind: ActionKind, target: string): Entry {
    const key = `${kind} ${target}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { kind, target, allowed: 0, blocked: 0, wouldBlock: 0, reason: null, bytesUp: 0, bytesDown: 0 };
      this.#entries.set(key, entry);
    }
    return entry;
  }
}

const RANK: Readonly<Record<DestinationRow['decision'], number>> = { block: 0, mixed: 1, allow: 2 };

function toRow(entry: Entry): DestinationRow {
  const decision = entry.blocked === 0 ? 'allow' : entry.allowed === 0 ? 'block' : 'mixed';
  return { ...entry, count: entry.allowed + entry.blocked, decision };
}
