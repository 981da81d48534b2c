import { z } from 'zod';
import type { ActionKind } from '../contract/action.js';
import { actionCount, byText, MAX_TOOLS_PER_DESTINATION, type DestinationStats, type ObservedRecord } from './observed-record.js';

/**
 * data_dir/observed/<agent>.json on disk: version 1, times as ISO 8601, destinations sorted by
 * target. Parsed by a schema at the edge; unknown fields are tolerated (a newer proxy may add some).
 */
const count = z.number().int().min(0);
const time = z.iso.datetime({ offset: true });

const destinationWire = z.looseObject({
  target: z.string().min(1).max(300),
  kinds: z.looseObject({ connect: count.optional(), http: count.optional(), tool_call: count.optional() }),
  tools: z.array(z.string().max(1000)).max(10_000),
  // Came later: a record written before it has none (its refused actions' tools are in `tools`).
  tools_not_allowed: z.array(z.string().max(1000)).max(10_000).optional(),
  count,
  // fail_open came later: a record written before it has none (read as 0).
  decisions: z.looseObject({ allow: count, block: count, would_block: count, fail_open: count.optional() }),
  // Came later too: a record written before it has none (read as 0).
  unreached: count.optional(),
  first_seen: time,
  last_seen: time,
});

export const recordWire = z.looseObject({
  version: z.literal(1),
  agent: z.string().min(1),
  updated_at: time,
  dropped: z.looseObject({ actions: count, tools: count }),
  destinations: z.array(destinationWire).max(1_000_000),
});

export type RecordWire = z.output<typeof recordWire>;

export function recordToWire(record: ObservedRecord, updatedAt: number): RecordWire {
  const destinations = [...record.destinations.values()].sort((a, b) => byText(a.target, b.target));
  return {
    version: 1,
    agent: record.agent,
    updated_at: new Date(updatedAt).toISOString(),
    dropped: { actions: record.droppedActions, tools: record.droppedTools },
    destinations: destinations.map((stats) => ({
      target: stats.target,
      kinds: stats.kinds,
      tools: [...stats.tools],
      tools_not_allowed: [...stats.toolsNotAllowed],
      count: actionCount(stats),
      decisions: { allow: stats.allowed, block: stats.blocked, would_block: stats.wouldBlock, fail_open: stats.failOpen },
      unreached: stats.unreached,
      first_seen: new Date(stats.firstSeen).toISOString(),
      last_seen: new Date(stats.lastSeen).toISOString(),
    })),
  };
}

export type ParsedRecord = { readonly ok: true; readonly record: ObservedRecord } | { readonly ok: false; readonly message: string };

/** The file's text → a record; a message naming the first problem otherwise. */
export function parseRecord(text: string): ParsedRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, message: 'not JSON' };
  }
  const parsed = recordWire.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, message: issue === undefined ? 'not an observed record' : `${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  const wire = parsed.data;
  const destinations = new Map<string, DestinationStats>();
  for (const entry of wire.destinations) {
    const kinds: Partial<Record<ActionKind, number>> = {};
    if (entry.kinds.connect !== undefined) kinds.connect = entry.kinds.connect;
    if (entry.kinds.http !== undefined) kinds.http = entry.kinds.http;
    if (entry.kinds.tool_call !== undefined) kinds.tool_call = entry.kinds.tool_call;
    const tools = [...new Set(entry.tools)].sort().slice(0, MAX_TOOLS_PER_DESTINATION);
    const toolsNotAllowed = [...new Set(entry.tools_not_allowed ?? [])].filter((tool) => !tools.includes(tool)).sort();
    destinations.set(entry.target, {
      target: entry.target,
      kinds,
      tools,
      toolsNotAllowed: toolsNotAllowed.slice(0, MAX_TOOLS_PER_DESTINATION),
      allowed: entry.decisions.allow,
      blocked: entry.decisions.block,
      wouldBlock: entry.decisions.would_block,
      failOpen: entry.decisions.fail_open ?? 0,
      unreached: entry.unreached ?? 0,
      firstSeen: Date.parse(entry.first_seen),
      lastSeen: Date.parse(entry.last_seen),
    });
  }
  return { ok: true, record: { agent: wire.agent, destinations, droppedActions: wire.dropped.actions, droppedTools: wire.dropped.tools } };
}
