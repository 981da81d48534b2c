// Where does kaizen-proxy spend its time?
//   node bench/profile.mjs <measurement> [--proxy kaizen|squid|bare] [--strace | --plain] [--top N] [--log-level warn]
//   [--cli path/to/cli.js] (an experimental build, e.g. a patched copy of dist/ under bench/out/)
//   [--node-arg FLAG]... (node flags for the proxy, e.g. --node-arg --trace-gc; kaizen's go to its log)
//   [--first MEASUREMENT[,MEASUREMENT...]] (run those first on the same proxy, in order, unmeasured)
//   [--total N] [--concurrency N] (connrate: tunnels measured, default 5,000, and loops at once, default 50)
//   [--idle S] (then leave the proxy idle S seconds before the measured run)
//   [--host NAME] (address the servers by this name, e.g. localhost: the proxy resolves it)
//   [--alloc] (instead of the CPU profile: what the proxy allocates in the measured section, per
//   tunnel, request or GiB, freed objects included; V8's sampling heap profiler, lib/alloc-sampler.mjs)
//   [--window] (the CPU profile of the measured section only, not of the whole process: lib/cpu-sampler.mjs)
// starts the proxy (kaizen-proxy under `node --cpu-prof`), runs one measurement against it (same
// client, servers and fake control plane as run.mjs), stops it with SIGTERM so the profile is
// written, and prints the hottest functions by self time plus self time per source file.
// --strace attaches `strace -c -f` to the proxy for the measured run and prints the syscall counts (for
// comparing kaizen-proxy with Squid or the bare node proxy, which have no JS profile).
// measurements: up | down | latency | connrate | http.  Output lands in bench/out/prof/.
// Environment: WARMUP=N tunnels before the latency slice (default 100); BARE_SCRIPT=path runs
// another bare proxy script under --proxy bare; ATTACH="perf record -e cpu-clock -g" (or
// "perf stat ...", "strace -f -tt -T") attaches `$ATTACH -o bench/out/prof/attached.out -p PID`
// to the proxy for the run. Run this file with another node binary to profile the proxy on that
// runtime (kaizen-proxy and the bare proxy are spawned with the node that runs this file).
import { fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { printAllocations } from './lib/alloc-summary.mjs';
import { runChild } from './lib/child.mjs';
import { startFakeControlPlane } from './lib/fake-control-plane.mjs';
import { kaizenCli, startKaizen } from './lib/kaizen.mjs';
import { raiseFdLimit, treeCpuSplit, treeMinorFaults, treePeakRss } from './lib/proc.mjs';
import { findSquid, startSquid } from './lib/squid.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const PROF = join(BENCH, 'out', 'prof');
const which = process.argv[2] ?? 'http';
const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const topN = Number(arg('--top')) || 25;
const which_proxy = arg('--proxy') ?? 'kaizen';
const withStrace = process.argv.includes('--strace');
const plain = process.argv.includes('--plain'); // no profiler, no strace: just the number and the CPU
const alloc = process.argv.includes('--alloc');
const ALLOC_OUT = join(PROF, 'alloc.heapprofile');
const windowed = process.argv.includes('--window');
const WINDOW_OUT = join(PROF, 'window.cpuprofile');
const profArgs = alloc
  ? ['--import', pathToFileURL(join(BENCH, 'lib', 'alloc-sampler.mjs')).href]
  : withStrace || plain ? []
  : windowed ? ['--import', pathToFileURL(join(BENCH, 'lib', 'cpu-sampler.mjs')).href]
  : ['--cpu-prof', `--cpu-prof-dir=${PROF}`, '--cpu-prof-interval=200'];
if (alloc) process.env.KZP_ALLOC_OUT = ALLOC_OUT;
if (windowed) process.env.KZP_CPU_OUT = WINDOW_OUT;
const nodeFlags = process.argv.filter((a, i) => process.argv[i - 1] === '--node-arg'); // e.g. --node-arg --trace-gc

raiseFdLimit(65_536);
rmSync(PROF, { recursive: true, force: true });
mkdirSync(PROF, { recursive: true });

const servers = await new Promise((resolve, reject) => {
  const child = fork(join(BENCH, 'lib', 'servers.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('message', (msg) => resolve({ ...msg, pid: child.pid, stop: () => child.disconnect() }));
  child.once('exit', (code) => reject(new Error(`servers exited (${code})`)));
});
const cp = await startFakeControlPlane();
// --host NAME: reach the servers by a name (e.g. localhost) instead of their address, so each
// tunnel or request includes the proxy's name resolution.
const S = arg('--host') ?? servers.host;
const GiB = 1024 ** 3;
const plans = {
  up: ['tunnel-throughput.mjs', { host: S, port: servers.ports.sink, bytes: GiB, warmupBytes: 64 * 1024 ** 2, direction: 'up' }],
  down: ['tunnel-throughput.mjs', { host: S, port: servers.ports.source, bytes: GiB, warmupBytes: 64 * 1024 ** 2, direction: 'down' }],
  latency: ['tunnel-latency.mjs', { host: S, port: servers.ports.echo, count: 1_000, warmup: Number(process.env.WARMUP ?? 100) }],
  connrate: ['connect-rate.mjs', { host: S, port: servers.ports.echo, total: Number(arg('--total') ?? 5_000), concurrency: Number(arg('--concurrency') ?? 50), warmup: 500 }],
  http: ['http-keepalive.mjs', { host: S, port: servers.ports.origin, total: 50_000, connections: 50, warmup: 5_000 }],
};
if (!plans[which]) throw new Error(`unknown measurement ${which}; one of ${Object.keys(plans).join(', ')}`);

let proxy;
if (which_proxy === 'kaizen') {
  proxy = await startKaizen(arg('--cli') ?? kaizenCli(ROOT), {
    controlPlaneUrl: cp.url,
    logFile: join(PROF, 'kaizen.log'),
    logLevel: arg('--log-level') ?? 'info',
    nodeArgs: [...profArgs, ...nodeFlags],
  });
} else if (which_proxy === 'squid') {
  proxy = await startSquid(findSquid(), { maxFds: raiseFdLimit(65_536) });
} else {
  proxy = await new Promise((resolve) => {
    const child = spawn(process.execPath, [...profArgs, ...nodeFlags, (process.env.BARE_SCRIPT ?? join(BENCH, 'lib', 'bare-proxy.mjs'))], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', (d) => resolve({ pid: child.pid, via: { host: '127.0.0.1', port: Number(/\d+/.exec(String(d))[0]) }, stop: async () => { child.kill('SIGINT'); await new Promise((r) => child.once('exit', r)); } }));
  });
}
process.on('exit', () => {
  try { process.kill(proxy.pid, 'SIGKILL'); } catch { /* already gone */ }
});
// --first <measurement>[,<measurement>...]: run them on the same proxy, unmeasured, before the
// measured one (the bench's later rounds measure a proxy that has already served the others).
const firsts = arg('--first')?.split(',') ?? [];
for (const first of firsts) {
  if (!plans[first]) throw new Error(`unknown measurement ${first}; one of ${Object.keys(plans).join(', ')}`);
  await runChild(join(BENCH, plans[first][0]), { ...plans[first][1], via: proxy.via }, { timeoutMs: 300_000 });
}
// --idle S: the proxy sits idle this many seconds before the measured run (in the bench, each
// proxy waits while the others are measured).
if (arg('--idle') !== undefined) await delay(Number(arg('--idle')) * 1000);
// Attached tools (and strace) start after the --first runs: they see the measured run only.
let strace = null;
if (process.env.ATTACH) {
  const [tool, ...args] = process.env.ATTACH.split(' ');
  strace = spawn(tool, [...args, '-o', join(PROF, 'attached.out'), '-p', String(proxy.pid)], { stdio: ['ignore', 'ignore', 'inherit'] });
  await new Promise((r) => setTimeout(r, 500));
} else if (withStrace) {
  strace = spawn('strace', ['-c', '-f', '-o', join(PROF, 'strace.txt'), '-p', String(proxy.pid)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
}
const cpu = {};
const serversCpu = {};
const faults = {};
const [file, opts] = plans[which];
const result = await runChild(join(BENCH, file), { ...opts, via: proxy.via }, {
  timeoutMs: 300_000,
  onCheckpoint: async (name) => {
    cpu[name] = treeCpuSplit(proxy.pid);
    serversCpu[name] = treeCpuSplit(servers.pid);
    faults[name] = treeMinorFaults(proxy.pid);
    // --alloc, --window: the first signal starts the sampler, the second has it write its profile.
    if ((alloc || windowed) && (name === 'start' || name === 'end')) process.kill(proxy.pid, 'SIGUSR2');
    if (alloc && name === 'end') while (!existsSync(ALLOC_OUT)) await delay(50);
    if (windowed && name === 'end') while (!existsSync(WINDOW_OUT)) await delay(50);
  },
});
const peakMiB = treePeakRss(proxy.pid) / 1024 ** 2;
if (strace) {
  strace.kill('SIGINT');
  await new Promise((r) => strace.once('exit', r));
}
await proxy.stop();
await cp.close();
servers.stop();
const user = cpu.end.user - cpu.start.user;
const system = cpu.end.system - cpu.start.system;
const measured = user + system;
console.log(`${which_proxy} ${which}: ${JSON.stringify(result)}`);
const serversUser = serversCpu.end.user - serversCpu.start.user;
const serversSystem = serversCpu.end.system - serversCpu.start.system;
console.log(`origin servers' CPU in the measured section: ${(serversUser + serversSystem).toFixed(2)} s (user ${serversUser.toFixed(2)}, system ${serversSystem.toFixed(2)})`);
console.log(`proxy CPU in the measured section: ${measured.toFixed(2)} s (user ${user.toFixed(2)}, system ${system.toFixed(2)}), minor page faults: ${faults.end - faults.start}, peak RSS since start: ${peakMiB.toFixed(0)} MiB`);
if (strace && !process.env.ATTACH) {
  console.log(readFileSync(join(PROF, 'strace.txt'), 'utf8').split('\n').slice(0, topN + 4).join('\n'));
  process.exit(0);
}
if (which_proxy === 'squid' || plain) process.exit(0);
if (alloc) {
  const units = opts.total ?? opts.count ?? opts.bytes / GiB;
  const unit = opts.bytes !== undefined ? 'GiB' : which === 'http' ? 'request' : 'tunnel';
  printAllocations(JSON.parse(readFileSync(ALLOC_OUT, 'utf8')), { units, unit, top: topN, short: shortName });
  process.exit(0);
}

const profFile = windowed ? 'window.cpuprofile' : readdirSync(PROF).find((f) => f.endsWith('.cpuprofile'));
if (!profFile) throw new Error('no .cpuprofile written (did the proxy exit on SIGTERM?)');
const profile = JSON.parse(readFileSync(join(PROF, profFile), 'utf8'));

// Self time per node from samples and timeDeltas.
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const short = shortName;
const byFn = new Map();
const byFile = new Map();
let total = 0;
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0) continue;
  total += us;
  const f = node.callFrame;
  const name = f.functionName || '(anonymous)';
  if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
    byFn.set(name, (byFn.get(name) ?? 0) + us);
    byFile.set(name, (byFile.get(name) ?? 0) + us);
    continue;
  }
  const key = `${name}  ${short(f.url)}:${f.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  byFile.set(short(f.url), (byFile.get(short(f.url)) ?? 0) + us);
}
const busy = total - (byFn.get('(idle)') ?? 0);
const print = (title, map, n) => {
  console.log(`\n${title} (share of non-idle samples)`);
  for (const [k, us] of [...map].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${((us / busy) * 100).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(6)} ms  ${k}`);
  }
};
console.log(`profile ${profFile}, non-idle ${(busy / 1e6).toFixed(2)} s (${windowed ? 'measured section' : 'whole run'})`);
print('self time by function', byFn, topN);

// Inclusive time of project and dependency functions (dist/, node_modules/): what a call costs
// together with the node internals it drives. Recursion is counted once per sample.
const parent = new Map();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
const nodeById = new Map(profile.nodes.map((n) => [n.id, n]));
const inclusive = new Map();
for (const [id, us] of selfUs) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = nodeById.get(cur).callFrame;
    const file = short(f.url);
    if (!file.startsWith('dist/') && !file.startsWith('node_modules/')) continue;
    const key = `${f.functionName || '(anonymous)'}  ${file}:${f.lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + us);
  }
}
print('inclusive time of project/dependency functions', inclusive, topN);
print('self time by file', byFile, 20);

/** A script as the summaries name it: dist/..., node_modules/..., node:... */
function shortName(url) {
  if (!url) return '(native)';
  const p = url.startsWith('file://') ? fileURLToPath(url) : url;
  return p.startsWith(ROOT) ? relative(ROOT, p) : p;
}
