import type { ActionKind } from '../contract/action.js';
import type { DestinationRow, RefusalRow } from './egress-tally.js';

/**
 * The exit summary for a terminal: a heading, then one row per destination (blocked first, as
 * the tally sorts them) with kind, count, decision, bytes each way and the reason for a block.
 * Clients refused before any decision follow, one line per reason; with no row, the heading
 * counts them, and says that nothing went through the proxy only when none reached it.
 */
export function formatSummaryTable(agent: string, rows: readonly DestinationRow[], refusals: readonly RefusalRow[] = []): string {
  const footer = refusals.map((r) => `kaizen-proxy: ${plural(r.count, 'client')} refused before any decision: ${r.reason} (${r.code})\n`).join('');
  if (rows.length === 0) {
    const refused = refusals.reduce((sum, r) => sum + r.count, 0);
    // Refused clients did reach the proxy: "no traffic" would send the operator looking for a bypass.
    const heading =
      refused === 0
        ? 'no traffic went through the proxy (programs that ignore proxy variables are not covered)'
        : `${plural(refused, 'client')} reached the proxy and ${refused === 1 ? 'was' : 'were'} refused before any decision`;
    return `kaizen-proxy: agent ${agent}: ${heading}\n${footer}`;
  }
  const blocked = rows.filter((row) => row.blocked > 0).length;
  const heading = `kaizen-proxy: agent ${agent}: ${plural(rows.length, 'destination')}, ${blocked} blocked`;
  const header = ['DECISION', 'KIND', 'DESTINATION', 'COUNT', 'SENT', 'RECEIVED', 'REASON'];
  const body = rows.map((row) => [
    decisionLabel(row),
    row.kind,
    row.target,
    countLabel(row.kind, row.count),
    formatBytes(row.bytesUp),
    formatBytes(row.bytesDown),
    row.reason ?? '',
  ]);
  const table = [header, ...body];
  const widths = header.map((_, column) => Math.max(...table.map((cells) => (cells[column] ?? '').length)));
  const lines = table.map((cells) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  return `${heading}\n${lines.map((line) => `  ${line}`).join('\n')}\n${footer}`;
}

function decisionLabel(row: DestinationRow): string {
  if (row.decision === 'allow' && row.wouldBlock > 0) return 'allow*';
  return row.decision;
}

function countLabel(kind: ActionKind, count: number): string {
  switch (kind) {
    case 'connect':
      return plural(count, 'connection');
    case 'http':
      return plural(count, 'request');
    case 'tool_call':
      return plural(count, 'call');
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** 0 B, 512 B, 1.5 KiB, 12 MiB: short enough for a column. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || value >= 10 ? Math.round(value).toString() : value.toFixed(1);
  return `${text} ${units[unit] ?? 'B'}`;
}
