// Markdown rendering of a bench report: the results table with ratios and pass/fail against the
// targets of issue 2, then the proxies' own CPU cost per operation (where the time goes).

const DEFAULT_COLUMNS = ['direct', 'kaizen-proxy', 'squid'];

function fmt(value, decimals) {
  if (value === null || value === undefined || Number.isNaN(value)) return null;
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

function ratio(a, b) {
  if (a == null || b == null || b === 0) return null;
  return a / b;
}

/** Whether a ratio to Squid meets a vs-squid target (a floor or a ceiling). */
function meetsRatio(target, r) {
  return target.min !== undefined ? r >= target.min : r <= target.max;
}

/** {text, pass} for one row's target; pass is null when the target cannot be judged. */
export function judge(row) {
  const k = row.values['kaizen-proxy'];
  const s = row.values.squid;
  const t = row.target;
  if (!t) return { text: '', pass: null };
  if (t.kind === 'vs-squid') {
    const want = t.min !== undefined ? `>= ${t.min}x squid` : `<= ${t.max}x squid`;
    const r = ratio(k, s);
    if (r === null) return { text: want, pass: null };
    return { text: want, pass: meetsRatio(t, r) };
  }
  if (t.kind === 'max') {
    return { text: `<= ${t.max} ${row.unit}`, pass: k == null ? null : k <= t.max };
  }
  if (t.kind === 'exact') {
    return { text: `exactly ${t.value}`, pass: k == null ? null : k === t.value };
  }
  return { text: '', pass: null };
}

function cell(row, column, status) {
  const v = fmt(row.values[column], row.decimals ?? 0);
  if (v !== null) return v;
  if (row.only && !row.only.includes(column)) return '—';
  return status[column] ?? '—';
}

/** Reference columns present (BENCH_BARE=1, BENCH_RAW=1): how each would fare against the same targets. */
const REFERENCE_COLUMNS = ['bare node', 'raw node'];

function referenceLines(rows, columns) {
  const refs = columns.filter((c) => REFERENCE_COLUMNS.includes(c));
  const judged = rows.filter((row) => row.target?.kind === 'vs-squid');
  if (refs.length === 0 || judged.length === 0) return [];
  const out = ['The same targets held to kaizen-proxy and to the reference proxies (no policy, no logging; the raw floor has no node:http, no half-close and no limits), each against Squid:', ''];
  const shown = ['kaizen-proxy', ...refs];
  out.push(`| metric | ${shown.join(' | ')} | target |`);
  out.push(`|---|${shown.map(() => '--:|').join('')}---|`);
  for (const row of judged) {
    const cells = shown.map((c) => {
      const r = ratio(row.values[c], row.values.squid);
      if (r === null) return '—';
      return `${fmt(r, 2)}x ${meetsRatio(row.target, r) ? 'meets' : 'misses'}`;
    });
    out.push(`| ${row.label} | ${cells.join(' | ')} | ${judge(row).text} |`);
  }
  out.push('');
  return out;
}

export function renderTable(report) {
  const { meta, status, rows, diagnostics } = report;
  const COLUMNS = report.columns ?? DEFAULT_COLUMNS;
  const out = [];
  out.push(`## kaizen-proxy bench — ${meta.date}`);
  out.push('');
  out.push(`${meta.cpus} × ${meta.cpuModel}, ${meta.os}; node ${meta.node}${meta.proxyNode && meta.proxyNode !== meta.node ? ` (kaizen-proxy and the reference proxies on ${meta.proxyNode})` : ''}; squid ${meta.squid}; commit ${meta.commit}; ` +
    `median of ${meta.rounds} interleaved rounds (RSS and control-plane rows: one run on a fresh process); decision logging on.`);
  out.push('');
  out.push(`| metric | ${COLUMNS.join(' | ')} | kaizen/squid | kaizen/direct | target | result |`);
  out.push(`|---|${COLUMNS.map(() => '--:|').join('')}--:|--:|---|---|`);
  let failures = 0;
  let unjudged = 0;
  for (const row of rows) {
    const { text, pass } = judge(row);
    if (pass === false) failures++;
    if (row.target && pass === null) unjudged++;
    const rs = fmt(ratio(row.values['kaizen-proxy'], row.values.squid), 2);
    const rd = fmt(ratio(row.values['kaizen-proxy'], row.values.direct), 2);
    const result = !row.target ? '' : pass === null ? 'n/a' : pass ? 'PASS' : '**FAIL**';
    out.push(`| ${row.label} (${row.unit}) | ${COLUMNS.map((c) => cell(row, c, status)).join(' | ')} | ${rs ? `${rs}x` : '—'} | ${rd ? `${rd}x` : '—'} | ${text} | ${result} |`);
  }
  out.push('');
  if (diagnostics && diagnostics.length > 0) {
    out.push('Where the time goes (proxy process CPU during the measured section only; utilisation 1.00 = one core busy):');
    out.push('');
    out.push(`| diagnostic | ${COLUMNS.join(' | ')} | kaizen/squid |`);
    out.push(`|---|${COLUMNS.map(() => '--:|').join('')}--:|`);
    for (const row of diagnostics) {
      const r = ratio(row.values['kaizen-proxy'], row.values.squid);
      const rs = r === null ? '—' : r > 100 ? '> 100x' : `${fmt(r, 2)}x`;
      out.push(`| ${row.label} (${row.unit}) | ${COLUMNS.map((c) => cell(row, c, status)).join(' | ')} | ${rs} |`);
    }
    out.push('');
  }
  out.push(...referenceLines(rows, COLUMNS));
  for (const note of meta.notes ?? []) out.push(`- ${note}`);
  if ((meta.notes ?? []).length > 0) out.push('');
  const verdict = failures > 0 ? `${failures} target(s) missed` : unjudged > 0 ? `no target missed, ${unjudged} not judged` : 'all targets met';
  out.push(`Result: ${verdict}.`);
  return { markdown: out.join('\n') + '\n', failures, unjudged };
}
