import type { ActionKind } from '../contract/action.js';
import type { ClosedEvent, DecisionEvent } from '../contract/observer.js';

/** What one agent did with one destination (canonical "host:port"), over all of its actions. */
export interface DestinationStats {
  readonly target: string;
  /** Actions per kind (connect, http, tool_call). */
  readonly kinds: Partial<Record<ActionKind, number>>;
  /**
   * Tool names (mapped routes) carried by actions forwarded on a verdict (allowed, or a would-block),
   * sorted; at most MAX_TOOLS_PER_DESTINATION.
   */
  readonly tools: readonly string[];
  /**
   * Tool names carried only by actions refused or forwarded without a verdict (never in `tools`):
   * kept apart, since a declaration must not legitimise them. Sorted; bounded as `tools`.
   */
  readonly toolsNotAllowed: readonly string[];
  /** Forwarded on a verdict (control plane, cache, local policy). */
  readonly allowed: number;
  /** Refused by the proxy (blocks, guard, no verdict). */
  readonly blocked: number;
  /** Forwarded in monitor mode although a verdict would have refused it. */
  readonly wouldBlock: number;
  /**
   * Forwarded without any verdict: the control plane gave none and fail mode is open, or it is
   * closed and monitor mode forwarded the refusal (a would-block that no verdict ever said).
   */
  readonly failOpen: number;
  /**
   * Of the actions forwarded, those that then reached nothing (neverReached): the name did not
   * resolve, or the tunnel was refused at its SNI check. Not a decision of its own: counted again
   * here, from the action's closed event.
   */
  readonly unreached: number;
  /** Epoch milliseconds. */
  readonly firstSeen: number;
  readonly lastSeen: number;
}

/** The observed-egress record of one agent: the domain model behind data_dir/observed/<agent>.json. */
export interface ObservedRecord {
  readonly agent: string;
  /** By target. */
  readonly destinations: ReadonlyMap<string, DestinationStats>;
  /** Actions on destinations that arrived once the record was full (counted, not kept). */
  readonly droppedActions: number;
  /** Tool names not kept because their destination already listed the maximum. */
  readonly droppedTools: number;
}

export const MAX_TOOLS_PER_DESTINATION = 64;
/** Longer tool names are not kept (a mapped route's name is short; this bounds the file). */
export const MAX_TOOL_NAME = 200;

export function emptyRecord(agent: string): ObservedRecord {
  return { agent, destinations: new Map(), droppedActions: 0, droppedTools: 0 };
}

/** The total number of actions decided for a destination. */
export function actionCount(stats: DestinationStats): number {
  return stats.allowed + stats.blocked + stats.wouldBlock + stats.failOpen;
}

/** DestinationStats while it is being counted: updated in place, one Map lookup per event. */
interface MutableStats {
  readonly target: string;
  readonly kinds: Partial<Record<ActionKind, number>>;
  tools: string[];
  toolsNotAllowed: string[];
  allowed: number;
  blocked: number;
  wouldBlock: number;
  failOpen: number;
  unreached: number;
  readonly firstSeen: number;
  lastSeen: number;
}

/**
 * A mutable record fed by decision events. `admit` says whether a destination not yet recorded may
 * be added (the caller bounds the record across what it holds on disk and in memory).
 */
export class RecordBuilder {
  readonly #agent: string;
  readonly #destinations = new Map<string, MutableStats>();
  #droppedActions = 0;
  #droppedTools = 0;

  constructor(agent: string) {
    this.#agent = agent;
  }

  get size(): number {
    return this.#destinations.size;
  }

  has(target: string): boolean {
    return this.#destinations.has(target);
  }

  /** Record one decided action; returns false when it was only counted as dropped. */
  observe(event: DecisionEvent, now: number, admit: (target: string) => boolean): boolean {
    const { action, decision } = event;
    let stats = this.#destinations.get(action.target);
    if (stats === undefined) {
      if (!admit(action.target)) {
        this.#droppedActions++;
        return false;
      }
      stats = { target: action.target, kinds: {}, tools: [], toolsNotAllowed: [], allowed: 0, blocked: 0, wouldBlock: 0, failOpen: 0, unreached: 0, firstSeen: now, lastSeen: now };
      this.#destinations.set(action.target, stats);
    }
    stats.kinds[action.kind] = (stats.kinds[action.kind] ?? 0) + 1;
    let onVerdict = false;
    if (decision.enforce === 'refuse') stats.blocked++;
    else if (decision.source === 'fail_open' || decision.source === 'fail_closed') stats.failOpen++;
    else if (decision.wouldBlock) {
      stats.wouldBlock++;
      onVerdict = true;
    } else {
      stats.allowed++;
      onVerdict = true;
    }
    if (now > stats.lastSeen) stats.lastSeen = now;
    const tool = action.tool;
    if (tool !== undefined && tool !== '' && !stats.tools.includes(tool)) this.#addTool(stats, tool, onVerdict);
    return true;
  }

  /** A forwarded action that reached nothing (neverReached); returns false when nothing changed. */
  closed(event: ClosedEvent): boolean {
    if (!neverReached(event)) return false;
    const stats = this.#destinations.get(event.action.target);
    if (stats === undefined) return false;
    stats.unreached++;
    return true;
  }

  snapshot(): ObservedRecord {
    const destinations = new Map<string, DestinationStats>();
    for (const [target, stats] of this.#destinations) {
      destinations.set(target, { ...stats, kinds: { ...stats.kinds }, tools: [...stats.tools], toolsNotAllowed: [...stats.toolsNotAllowed] });
    }
    return { agent: this.#agent, destinations, droppedActions: this.#droppedActions, droppedTools: this.#droppedTools };
  }

  /** A tool not yet in `tools`: into it when its action was forwarded on a verdict, else kept apart. */
  #addTool(stats: MutableStats, tool: string, onVerdict: boolean): void {
    const apart = stats.toolsNotAllowed.includes(tool);
    if (!onVerdict && apart) return;
    const list = onVerdict ? stats.tools : stats.toolsNotAllowed;
    if (tool.length > MAX_TOOL_NAME || list.length >= MAX_TOOLS_PER_DESTINATION) {
      this.#droppedTools++;
      return;
    }
    if (onVerdict) {
      stats.tools = [...stats.tools, tool].sort();
      if (apart) stats.toolsNotAllowed = stats.toolsNotAllowed.filter((other) => other !== tool);
    } else stats.toolsNotAllowed = [...stats.toolsNotAllowed, tool].sort();
  }
}

/**
 * Two records of one agent added together (the file's and this process's): counts add up, first
 * and last seen widen, tools unite. At most `maxDestinations` are kept: those of `older` first,
 * then the newer ones most used first; the actions of those left out are counted as dropped.
 */
export function mergeRecords(older: ObservedRecord, newer: ObservedRecord, maxDestinations: number): ObservedRecord {
  const merged = new Map(older.destinations);
  let droppedActions = older.droppedActions + newer.droppedActions;
  let droppedTools = older.droppedTools + newer.droppedTools;
  const fresh = [...newer.destinations.values()].sort((a, b) => actionCount(b) - actionCount(a) || byText(a.target, b.target));
  for (const stats of fresh) {
    const known = merged.get(stats.target);
    if (known === undefined) {
      if (merged.size >= maxDestinations) {
        droppedActions += actionCount(stats);
        continue;
      }
      merged.set(stats.target, stats);
      continue;
    }
    const tools = [...new Set([...known.tools, ...stats.tools])].sort();
    droppedTools += Math.max(0, tools.length - MAX_TOOLS_PER_DESTINATION);
    const notAllowed = [...new Set([...known.toolsNotAllowed, ...stats.toolsNotAllowed])].filter((tool) => !tools.includes(tool)).sort();
    droppedTools += Math.max(0, notAllowed.length - MAX_TOOLS_PER_DESTINATION);
    const kinds: Partial<Record<ActionKind, number>> = { ...known.kinds };
    for (const [kind, count] of Object.entries(stats.kinds) as [ActionKind, number][]) kinds[kind] = (kinds[kind] ?? 0) + count;
    merged.set(stats.target, {
      target: stats.target,
      kinds,
      tools: tools.slice(0, MAX_TOOLS_PER_DESTINATION),
      toolsNotAllowed: notAllowed.slice(0, MAX_TOOLS_PER_DESTINATION),
      allowed: known.allowed + stats.allowed,
      blocked: known.blocked + stats.blocked,
      wouldBlock: known.wouldBlock + stats.wouldBlock,
      failOpen: known.failOpen + stats.failOpen,
      unreached: known.unreached + stats.unreached,
      firstSeen: Math.min(known.firstSeen, stats.firstSeen),
      lastSeen: Math.max(known.lastSeen, stats.lastSeen),
    });
  }
  return { agent: older.agent, destinations: merged, droppedActions, droppedTools };
}

/**
 * A closed event of an action forwarded on its decision that reached nothing: its name did not
 * resolve (502 KZP_ERR_DNS), or its tunnel was refused after the 200 at the TLS SNI check (a
 * domain-fronting attempt: KZP_ERR_SNI_MISMATCH, or KZP_ERR_BLOCKED when the SNI's host was judged).
 */
export function neverReached(event: ClosedEvent): boolean {
  const error = event.error;
  if (error === undefined) return false;
  return error === 'KZP_ERR_DNS' || error === 'KZP_ERR_SNI_MISMATCH' || (error === 'KZP_ERR_BLOCKED' && event.status === 200);
}

/** Code-unit order: stable across locales, and far cheaper than localeCompare (ICU) on every flush. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
