// The bench driver: `node bench/run.mjs` (via `npm run bench`, which builds dist/ first).
// Side by side in one run: direct connection, kaizen-proxy (dist/cli.js with a local fake
// control plane) and Squid (when installed). Every path gets the same client processes and the
// same servers; rounds are interleaved so background load drifts hit all paths alike.
// Env knobs for development only: BENCH_ROUNDS (default 3), BENCH_ONLY=direct,squid,kaizen-proxy,
// BENCH_SKIP=rss,control-plane,... , BENCH_STRICT=1 (exit 1 when a target is missed),
// BENCH_BARE=1 (add a bare node:http/net proxy as a reference column), BENCH_RAW=1 (add the raw
// node:net floor, lib/raw-floor-proxy.mjs, as another),
// BENCH_MEASURE=up,down,latency,connrate,http (a subset of the throughput/latency/rate rows).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './lib/child.mjs';
import { startFakeControlPlane } from './lib/fake-control-plane.mjs';
import { kaizenCli, startKaizen } from './lib/kaizen.mjs';
import { raiseFdLimit, treeCpuSeconds, treeMinorFaults, treeRss } from './lib/proc.mjs';
import { findSquid, squidVersion, startSquid } from './lib/squid.mjs';
import { sleep } from './lib/wait.mjs';
import { renderTable } from './table.mjs';
import { buildRows, median } from './rows.mjs';
import { startBare } from './lib/bare.mjs';
import { gitCommit, startServers } from './lib/servers-client.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const OUT = join(BENCH, 'out');
const GiB = 1024 ** 3;

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',') : null;
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').filter(Boolean));
/** No round starts past half of this: three rounds (medians of three) fit, and the bench stays under 8 minutes. */
const BUDGET_MS = 480_000;
const IDLE_TUNNELS = 5_000;
const CP_CONCURRENT = 1_000;
const CP_DELAY_MS = 300;
/** Tunnels between the latency run's first slice and its steady-state slice (see tunnel-latency.mjs). */
const LATENCY_STEADY_AFTER = 2_000;
/** The node that runs kaizen-proxy and the bare reference (the clients and servers keep this one): see image-node.mjs. */
const PROXY_NODE = process.env.BENCH_PROXY_NODE || process.execPath; // the first verdict stays pending while all 1,000 connections arrive

const started = Date.now();
const loadAtStart = os.loadavg()[0];
const notes = [];
const cleanups = [];
const pids = new Set();

function killAll() {
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130); });

const log = (msg) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);

/** Run one measurement child against one path; sample the proxy's CPU around the measured part. */
async function runOn(path, file, opts, timeoutMs) {
  const cpu = {};
  const faults = {};
  const accepted = {};
  const serversCpu = {};
  const result = await runChild(join(BENCH, file), { ...opts, via: path.via }, {
    timeoutMs,
    onCheckpoint: async (name) => {
      if (path.pid) {
        cpu[name] = treeCpuSeconds(path.pid);
        faults[name] = treeMinorFaults(path.pid);
      }
      serversCpu[name] = treeCpuSeconds(servers.pid);
      accepted[name] = await servers.stats();
    },
  });
  if (path.pid && cpu.start !== undefined && cpu.end !== undefined) {
    result.proxyCpuSeconds = cpu.end - cpu.start;
    result.proxyMinorFaults = faults.end - faults.start;
  }
  if (serversCpu.start !== undefined && serversCpu.end !== undefined) result.serversCpuSeconds = serversCpu.end - serversCpu.start;
  if (accepted.start && accepted.end) {
    result.serverAccepts = Object.fromEntries(Object.keys(accepted.end).map((k) => [k, accepted.end[k] - accepted.start[k]]));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------

const fdLimit = raiseFdLimit(65_536);
// The proxy holds two descriptors per tunnel, plus its own; leave headroom.
const idleCount = Math.max(100, Math.min(IDLE_TUNNELS, Math.floor((fdLimit - 500) / 2)));
if (idleCount < IDLE_TUNNELS) notes.push(`open-file limit ${fdLimit}: idle-tunnel RSS measured with ${idleCount} tunnels instead of ${IDLE_TUNNELS} (raise the hard limit: ulimit -Hn).`);

const servers = await startServers(join(BENCH, 'lib', 'servers.mjs'), (pid) => pids.add(pid));
const cp = await startFakeControlPlane();
cleanups.push(() => cp.close(), () => servers.stop());
mkdirSync(OUT, { recursive: true });
const S = servers.host;

const squidBin = findSquid();
const cli = kaizenCli(ROOT);
const REFERENCES = { 'bare node': 'bare-proxy.mjs', 'raw node': 'raw-floor-proxy.mjs' };
const referenceColumns = [...(process.env.BENCH_BARE === '1' ? ['bare node'] : []), ...(process.env.BENCH_RAW === '1' ? ['raw node'] : [])];
const COLUMNS = ['direct', 'kaizen-proxy', 'squid', ...referenceColumns];
const status = { direct: null, 'kaizen-proxy': null, squid: null, ...Object.fromEntries(referenceColumns.map((c) => [c, null])) };
const want = (name) => !ONLY || ONLY.includes(name);

async function launch(name, tag) {
  if (REFERENCES[name] !== undefined) {
    const p = await startBare(join(BENCH, 'lib', REFERENCES[name]), PROXY_NODE, name);
    pids.add(p.pid);
    return p;
  }
  if (name === 'squid') {
    const p = await startSquid(squidBin, { maxFds: fdLimit });
    pids.add(p.pid);
    return p;
  }
  const p = await startKaizen(cli, { controlPlaneUrl: cp.url, logFile: join(OUT, `kaizen-${tag}.log`), node: PROXY_NODE });
  pids.add(p.pid);
  if (p.noAccount) notes.push('kaizen-proxy logged that it runs without an account: the control plane was not used.');
  return p;
}

const paths = [];
if (want('direct')) paths.push({ name: 'direct', via: null, pid: null });
for (const name of COLUMNS.slice(1)) {
  if (!want(name)) {
    status[name] = 'skipped';
    continue;
  }
  if (name === 'squid' && !squidBin) {
    status.squid = 'not installed';
    continue;
  }
  if (name === 'kaizen-proxy' && !cli) {
    status[name] = 'not built';
    continue;
  }
  try {
    paths.push(await launch(name, 'main'));
  } catch (err) {
    status[name] = 'failed to start';
    notes.push(`${name} failed to start: ${String(err.message).split('\n')[0].slice(0, 300)}`);
  }
}
log(`paths: ${paths.map((p) => `${p.name}${p.via ? ` @${p.via.port}` : ''}`).join(', ')}; fd limit ${fdLimit}`);

const MEASUREMENTS = [
  { key: 'up', file: 'tunnel-throughput.mjs', opts: { host: S, port: servers.ports.sink, bytes: GiB, warmupBytes: 64 * 1024 ** 2, direction: 'up' }, timeoutMs: 120_000 },
  { key: 'down', file: 'tunnel-throughput.mjs', opts: { host: S, port: servers.ports.source, bytes: GiB, warmupBytes: 64 * 1024 ** 2, direction: 'down' }, timeoutMs: 120_000 },
  { key: 'latency', file: 'tunnel-latency.mjs', opts: { host: S, port: servers.ports.echo, count: 1_000, warmup: 100, steadyAfter: LATENCY_STEADY_AFTER }, timeoutMs: 90_000 },
  { key: 'connrate', file: 'connect-rate.mjs', opts: { host: S, port: servers.ports.echo, total: 5_000, concurrency: 50, warmup: 500 }, timeoutMs: 60_000 },
  { key: 'http', file: 'http-keepalive.mjs', opts: { host: S, port: servers.ports.origin, total: 50_000, connections: 50, warmup: 5_000 }, timeoutMs: 120_000 },
];
if (process.env.BENCH_MEASURE) {
  const keep = new Set(process.env.BENCH_MEASURE.split(','));
  MEASUREMENTS.splice(0, MEASUREMENTS.length, ...MEASUREMENTS.filter((m) => keep.has(m.key)));
}
const results = {}; // results[key][path] = [result per round]
for (const m of MEASUREMENTS) results[m.key] = Object.fromEntries(paths.map((p) => [p.name, []]));

let roundsRun = 0;
for (let round = 0; round < ROUNDS; round++) {
  if (round > 0 && Date.now() - started > BUDGET_MS / 2) {
    notes.push(`time budget: ${round} round(s) instead of ${ROUNDS}.`);
    break;
  }
  for (const m of MEASUREMENTS) {
    // Rotate the order each round so no path always runs first or last.
    const order = paths.map((_, i) => paths[(i + round) % paths.length]);
    for (const path of order) {
      if (status[path.name]) continue;
      try {
        const r = await runOn(path, m.file, m.opts, m.timeoutMs);
        results[m.key][path.name].push(r);
      } catch (err) {
        const msg = String(err.message).split('\n')[0].slice(0, 300);
        notes.push(`round ${round + 1}, ${m.key} via ${path.name}: ${msg}`);
        log(`${m.key} via ${path.name} failed: ${msg}`);
        if (path.pid && !isAlive(path.pid)) status[path.name] = 'crashed';
      }
    }
    log(`round ${round + 1} ${m.key} done`);
  }
  roundsRun++;
}
const mainCpCalls = cp.state.calls;
for (const p of paths) if (p.stop) await p.stop();

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// 5. RSS per idle tunnel, each proxy freshly started.
const rss = {};
if (!SKIP.has('rss')) {
  for (const name of COLUMNS.slice(1)) {
    if (status[name] && status[name] !== 'crashed') continue;
    let proxy;
    try {
      proxy = await launch(name, 'rss');
      const samples = {};
      const r = await runChild(join(BENCH, 'idle-tunnel-rss.mjs'), { via: proxy.via, host: S, port: servers.ports.echo, count: idleCount, concurrency: 50, warmup: 100 }, {
        timeoutMs: 90_000,
        onCheckpoint: async (cpName) => {
          await sleep(cpName === 'baseline' ? 500 : 1_000); // let the allocator settle
          const reads = [];
          for (let i = 0; i < 3; i++) {
            reads.push(treeRss(proxy.pid));
            await sleep(200);
          }
          samples[cpName] = median(reads);
        },
      });
      if (r.alive !== r.count) notes.push(`idle tunnels via ${name}: only ${r.alive} of ${r.count} were still open when RSS was read.`);
      rss[name] = { baseline: samples.baseline, holding: samples.holding, count: r.count, perTunnelKb: (samples.holding - samples.baseline) / r.count / 1024 };
      log(`rss ${name}: ${(rss[name].perTunnelKb).toFixed(1)} KB/tunnel (baseline ${(samples.baseline / 2 ** 20).toFixed(1)} MB)`);
    } catch (err) {
      notes.push(`idle-tunnel RSS via ${name}: ${String(err.message).split('\n')[0].slice(0, 300)}`);
    } finally {
      await proxy?.stop();
    }
  }
}

// 6. Control-plane calls for 1,000 concurrent first connections, on a cold kaizen-proxy.
let cpResult = null;
if (!SKIP.has('control-plane') && (!status['kaizen-proxy'] || status['kaizen-proxy'] === 'crashed') && cli && want('kaizen-proxy')) {
  let proxy;
  try {
    proxy = await launch('kaizen-proxy', 'cold');
    await sleep(200);
    cp.state.calls = 0;
    cp.state.delayMs = CP_DELAY_MS;
    const r = await runChild(join(BENCH, 'control-plane-calls.mjs'), { via: proxy.via, host: S, port: servers.ports.echo, count: CP_CONCURRENT }, { timeoutMs: 60_000 });
    cpResult = { calls: cp.state.calls, ...r };
    if (r.ok !== r.count) notes.push(`control-plane test: ${r.ok} of ${r.count} tunnels worked (first error: ${r.firstError}).`);
    log(`control plane: ${cpResult.calls} call(s) for ${r.count} concurrent first connections, ${r.ok} ok in ${r.seconds.toFixed(2)} s`);
  } catch (err) {
    notes.push(`control-plane test: ${String(err.message).split('\n')[0].slice(0, 300)}`);
  } finally {
    cp.state.delayMs = 0;
    await proxy?.stop();
  }
}

// ---------------------------------------------------------------------------------------------

const { rows, diagnostics } = buildRows({ results, rss, cpResult, columns: COLUMNS, idleCount, cpConcurrent: CP_CONCURRENT, steadyAfter: LATENCY_STEADY_AFTER });

const reconnects = Object.entries(results.http ?? {}).map(([n, rs]) => [n, rs.reduce((a, r) => a + (r.reconnects ?? 0), 0)]).filter(([, c]) => c > 0);
if (reconnects.length > 0) notes.push(`HTTP keep-alive: connections closed by the proxy and reopened: ${reconnects.map(([n, c]) => `${n} ${c}`).join(', ')}.`);
const connErrors = Object.entries(results.connrate ?? {}).map(([n, rs]) => [n, rs.reduce((a, r) => a + r.errors, 0), rs.find((r) => r.firstError)?.firstError]).filter(([, c]) => c > 0);
for (const [n, c, first] of connErrors) notes.push(`connections/s via ${n}: ${c} failed (${first}).`);
if (status['kaizen-proxy'] === null || status['kaizen-proxy'] === 'crashed') notes.push(`control-plane calls during the main run (4 targets: sink, source, echo, origin; then cached): ${mainCpCalls}.`);

const loadAtEnd = os.loadavg()[0];
if (Math.max(loadAtStart, loadAtEnd) > 0.5) {
  notes.push(`1-minute load average ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end (the bench itself adds about 2): other work shared the CPUs, so the absolute numbers are noisy; the interleaved ratios less so.`);
}
const cpus = os.cpus();
const meta = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  cpus: cpus.length,
  cpuModel: (cpus[0]?.model ?? '?').replace(/\s+/g, ' ').trim(),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  proxyNode: PROXY_NODE === process.execPath ? process.version : execFileSync(PROXY_NODE, ['--version'], { encoding: 'utf8' }).trim(),
  squid: squidBin ? squidVersion(squidBin) : 'not installed',
  commit: gitCommit(ROOT),
  rounds: roundsRun,
  notes,
};
const report = { meta, columns: COLUMNS, status, rows, diagnostics };
const { markdown, failures } = renderTable(report);
writeFileSync(join(OUT, 'latest.md'), markdown);
writeFileSync(join(OUT, 'latest.json'), JSON.stringify({ ...report, raw: { results, rss, cpResult } }, null, 2));
process.stdout.write(`\n${markdown}`);
log(`wrote ${join('bench', 'out', 'latest.md')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);

// TLS interception (issue 5): its own proxy and origin, figures appended under the main table.
let interceptFailures = 0;
if (!SKIP.has('intercept') && cli) {
  try {
    const { runInterceptBench } = await import('./intercept.mjs');
    const intercept = await runInterceptBench();
    interceptFailures = intercept.failures;
    writeFileSync(join(OUT, 'latest.md'), `${markdown}\n${intercept.markdown}`);
    process.stdout.write(`\n${intercept.markdown}`);
  } catch (err) {
    log(`interception bench failed: ${String(err.message).split('\n')[0]}`);
  }
}

// A large synced policy beside the traffic: its own proxy, control plane and origin, after the rest.
if (!SKIP.has('policy-sync') && cli) {
  try {
    const { runPolicySyncBench } = await import('./policy-sync.mjs');
    const policy = await runPolicySyncBench(cli);
    writeFileSync(join(OUT, 'latest.md'), `${readFileSync(join(OUT, 'latest.md'), 'utf8')}\n${policy.markdown}`);
    process.stdout.write(`\n${policy.markdown}`);
  } catch (err) {
    log(`policy-sync bench failed: ${String(err.message).split('\n')[0]}`);
  }
}

for (const c of cleanups) await c();
for (const p of paths) if (p.dir) rmSync(p.dir, { recursive: true, force: true });
process.exitCode = failures + interceptFailures > 0 && process.env.BENCH_STRICT === '1' ? 1 : 0;
