// The bench's table rows (targets) and diagnostics, from the interleaved results of bench/run.mjs.
const GiB = 1024 ** 3;

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * results[key][column] = [result per round]; rss[column] = { baseline, perTunnelKb }; cpResult =
 * { calls } or null. Every value is the median over rounds.
 */
export function buildRows({ results, rss, cpResult, columns: COLUMNS, idleCount, cpConcurrent: CP_CONCURRENT, steadyAfter }) {
  const col = (key, pick) => Object.fromEntries(COLUMNS.map((name) => [name, median((results[key]?.[name] ?? []).map(pick))]));
  const perOp = (key, ops, scale) => col(key, (r) => (r.proxyCpuSeconds === undefined ? null : (r.proxyCpuSeconds / ops(r)) * scale));
  const util = (key) => col(key, (r) => (r.proxyCpuSeconds === undefined ? null : r.proxyCpuSeconds / r.seconds));
  const p50 = (key) => col(key, (r) => r.p50Us);
  // Round 1 only: later rounds reuse the same proxy process, whose connect path is warm by then.
  const firstRound = (key, pick) => Object.fromEntries(COLUMNS.map((name) => [name, median([results[key]?.[name]?.[0]].filter(Boolean).map(pick))]));
  const warm = `after ${(steadyAfter + 1_100).toLocaleString('en-US')} tunnels`;

  const rows = [
    { label: 'CONNECT tunnel throughput up, 1 GiB', unit: 'MB/s', values: col('up', (r) => r.mbPerSec), target: { kind: 'vs-squid', min: 0.9 } },
    { label: 'CONNECT tunnel throughput down, 1 GiB', unit: 'MB/s', values: col('down', (r) => r.mbPerSec), target: { kind: 'vs-squid', min: 0.9 } },
    { label: `new tunnel + 1-byte echo p50, 1,000 sequential ${warm}`, unit: 'µs', values: p50('latency'), target: { kind: 'vs-squid', max: 1.1 } },
    { label: `new tunnel + 1-byte echo p99, 1,000 sequential ${warm}`, unit: 'µs', values: col('latency', (r) => r.p99Us) },
    { label: 'new tunnel + 1-byte echo p50, the first 1,000 after 100 (round 1)', unit: 'µs', values: firstRound('latency', (r) => r.firstP50Us) },
    { label: 'new tunnel + 1-byte echo p99, the first 1,000 after 100 (round 1)', unit: 'µs', values: firstRound('latency', (r) => r.firstP99Us) },
    { label: 'connections/s, 50 concurrent, 5,000', unit: 'conn/s', values: col('connrate', (r) => r.perSec), target: { kind: 'vs-squid', min: 1.0 } },
    { label: 'HTTP keep-alive requests/s, 50 connections, 50,000', unit: 'req/s', values: col('http', (r) => r.perSec), target: { kind: 'vs-squid', min: 1.0 } },
    { label: `RSS per idle tunnel, ${idleCount.toLocaleString('en-US')} open`, unit: 'KB', decimals: 1, only: ['kaizen-proxy', 'squid'],
      values: Object.fromEntries(COLUMNS.map((c) => [c, rss[c]?.perTunnelKb ?? null])), target: { kind: 'max', max: 32 } },
    { label: `control-plane calls, ${CP_CONCURRENT.toLocaleString('en-US')} concurrent first connections`, unit: 'calls', only: ['kaizen-proxy'],
      values: { direct: null, 'kaizen-proxy': cpResult?.calls ?? null, squid: null }, target: { kind: 'exact', value: 1 } },
  ];
  const diagnostics = [
    { label: 'proxy CPU per GiB tunnelled up', unit: 'ms', values: perOp('up', (r) => r.bytes / GiB, 1e3) },
    { label: 'proxy CPU per GiB tunnelled down', unit: 'ms', values: perOp('down', (r) => r.bytes / GiB, 1e3) },
    { label: 'proxy minor page faults per GiB tunnelled up (allocator churn)', unit: 'faults', values: col('up', (r) => (r.proxyMinorFaults === undefined ? null : r.proxyMinorFaults / (r.bytes / GiB))) },
    { label: 'proxy minor page faults per GiB tunnelled down', unit: 'faults', values: col('down', (r) => (r.proxyMinorFaults === undefined ? null : r.proxyMinorFaults / (r.bytes / GiB))) },
    { label: 'proxy CPU per new tunnel (connections/s run)', unit: 'µs', values: perOp('connrate', (r) => r.total, 1e6) },
    { label: 'proxy CPU per HTTP request', unit: 'µs', values: perOp('http', (r) => r.total, 1e6) },
    { label: 'origin connections opened per 1,000 HTTP requests', unit: 'conns', decimals: 1, only: COLUMNS,
      values: col('http', (r) => (r.serverAccepts ? (r.serverAccepts.origin / r.total) * 1000 : null)) },
    { label: 'proxy CPU utilisation, connections/s run', unit: 'cores', decimals: 2, values: util('connrate') },
    // The row reads (client + origin + Squid) / (client + origin + ours) per tunnel on 2 cores: the other two parts, per path.
    { label: 'load client CPU per new tunnel (connections/s run)', unit: 'µs', only: COLUMNS,
      values: col('connrate', (r) => (r.clientWindowCpuSeconds === undefined ? null : (r.clientWindowCpuSeconds / r.total) * 1e6)) },
    { label: 'echo origin CPU per new tunnel (connections/s run)', unit: 'µs', only: COLUMNS,
      values: col('connrate', (r) => (r.serversCpuSeconds === undefined ? null : (r.serversCpuSeconds / r.total) * 1e6)) },
    { label: 'proxy CPU utilisation, HTTP run', unit: 'cores', decimals: 2, values: util('http') },
    { label: 'proxy RSS before idle tunnels', unit: 'MB', decimals: 1, only: ['kaizen-proxy', 'squid'],
      values: Object.fromEntries(COLUMNS.map((c) => [c, rss[c] ? rss[c].baseline / 2 ** 20 : null])) },
  ];
  for (const d of diagnostics) d.only ??= COLUMNS.slice(1);
  return { rows, diagnostics };
}
