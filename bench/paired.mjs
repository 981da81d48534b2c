// Paired A/B of two proxies: both run at once and the client alternates between them tunnel by
// tunnel, so the machine's other load falls on both alike. Separate runs of one build on this
// 2-core VM differ by 10-20%; an A/A pairing agrees within about 1% on p50 latency.
//   node bench/paired.mjs A B [--mode seq|conc|http] [--rounds N] [--count N] [--warmup N] [--a-node-arg F] [--b-node-arg F]
//   [--http-between N] (seq, conc: N plain-HTTP requests to each proxy, unmeasured, before each round,
//   as the bench's later rounds measure tunnels on a proxy that has served HTTP)
//   [--up-between BYTES] (seq, conc: BYTES uploaded through one tunnel of each proxy in turn, unmeasured,
//   before each round, as the bench measures tunnels after its throughput rows)
//   [--between-only A|B] (that between-work through one proxy only: what it does to the later tunnels of a build)
//   [--between-once] (the between-work before the first round only: whether its effect outlasts one round)
//   [--pause-after-between MS] (idle this long after the between-work, before the round is measured)
//   [--cpu user|system] (count only that part of each proxy's CPU; default both)
// A and B: a kaizen-proxy build (path to its cli.js, e.g. dist/cli.js or a patched copy under
// bench/out/), `bare` (lib/bare-proxy.mjs), `raw` (lib/raw-floor-proxy.mjs) or `squid`.
// seq: new tunnel + 1-byte echo one at a time (the latency measurement), A and B alternating, the
// one going first swapped every tunnel; conc: 50 loops, odd ones through A, even ones through B;
// http: plain-HTTP keep-alive GETs (http-keepalive.mjs's client), 25 connections to each at once.
// Per round it prints each proxy's CPU per tunnel or request (/proc, user + system, 10 ms ticks)
// and p50 latency (seq, conc) or requests/s (http), then the medians and the B/A ratios. kaizen-proxy runs as the bench runs it (fake
// control plane, decision logging on; LOG_LEVEL=warn to turn it off).
import { fork } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBare } from './lib/bare.mjs';
import { startFakeControlPlane } from './lib/fake-control-plane.mjs';
import { startKaizen } from './lib/kaizen.mjs';
import { raiseFdLimit, treeCpuSplit } from './lib/proc.mjs';
import { findSquid, startSquid } from './lib/squid.mjs';
import { measure as keepAliveRequests } from './http-keepalive.mjs';
import { measure as throughput } from './tunnel-throughput.mjs';
import { echoOnce, openTunnel } from './lib/tunnel.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const [specA, specB] = process.argv.slice(2, 4);
if (specA === undefined || specB === undefined) {
  process.stderr.write('usage: node bench/paired.mjs A B [--mode seq|conc] [--rounds N] [--count N] [--warmup N]\n');
  process.exit(2);
}
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const mode = arg('--mode', 'seq');
const rounds = Number(arg('--rounds', 6));
const count = Number(arg('--count', { seq: 800, conc: 4000, http: 20_000 }[mode] ?? 800));
const warmup = Number(arg('--warmup', 300));
const httpBetween = Number(arg('--http-between', 0));
const upBetween = Number(arg('--up-between', 0));
// --between-only A|B: the --http-between and --up-between work goes through that proxy only (what
// the other work does to a build's later tunnels, against the same build without it).
const betweenOnly = arg('--between-only', null);
const betweenOnce = process.argv.includes('--between-once');
const pauseAfterBetween = Number(arg('--pause-after-between', 0));
const cpuPart = arg('--cpu', 'both');
const maxFds = raiseFdLimit(65_536);

const servers = await new Promise((resolveServers, reject) => {
  const child = fork(join(BENCH, 'lib', 'servers.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('message', (msg) => resolveServers({ ...msg, stop: () => child.disconnect() }));
  child.once('exit', (code) => reject(new Error(`servers exited (${code})`)));
});
const cp = await startFakeControlPlane();

function start(spec, label) {
  if (spec === 'bare') return startBare(join(BENCH, 'lib', 'bare-proxy.mjs'), process.execPath, 'bare node');
  if (spec === 'raw') return startBare(join(BENCH, 'lib', 'raw-floor-proxy.mjs'), process.execPath, 'raw node');
  if (spec === 'squid') return startSquid(findSquid(), { maxFds });
  // Another reference proxy script, run like the bare ones (prints "listening <port>").
  if (spec.endsWith('.mjs')) return startBare(resolve(spec), process.execPath, spec);
  // --a-node-arg / --b-node-arg FLAG (repeatable): node or V8 flags for that side's kaizen-proxy.
  const nodeArgs = process.argv.filter((a, i) => process.argv[i - 1] === `--${label}-node-arg`);
  return startKaizen(resolve(spec), { controlPlaneUrl: cp.url, logFile: join(BENCH, 'out', `paired-${label}.log`), logLevel: process.env.LOG_LEVEL ?? 'info', nodeArgs });
}

const proxies = { A: await start(specA, 'a'), B: await start(specB, 'b') };
const target = { host: servers.host, port: servers.ports.echo };

async function tunnel(which) {
  const t0 = process.hrtime.bigint();
  const socket = await openTunnel(proxies[which].via, target);
  await echoOnce(socket);
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  socket.destroy();
  return us;
}

const cpuOf = (which) => {
  const { user, system } = treeCpuSplit(proxies[which].pid);
  if (cpuPart === 'user') return user;
  if (cpuPart === 'system') return system;
  return user + system;
};
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const NO_CHECKPOINTS = { checkpoint: async () => undefined };
/** Both proxies at once, `total` keep-alive GETs each over 25 connections; requests/s of each. */
async function requests(total) {
  const run = (which) => (betweenOnly !== null && betweenOnly !== which && mode !== 'http' ? { perSec: 0 } : keepAliveRequests({ via: proxies[which].via, host: servers.host, port: servers.ports.origin, total, connections: 25, warmup: 0 }, NO_CHECKPOINTS));
  const [a, b] = await Promise.all([run('A'), run('B')]);
  return { A: a.perSec, B: b.perSec };
}

/** One upload of `bytes` through each proxy in turn (the order swapped every call). */
let uploadsRun = 0;
async function uploads(bytes) {
  const order = uploadsRun++ % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
  for (const which of order) {
    if (betweenOnly !== null && betweenOnly !== which) continue;
    await throughput({ via: proxies[which].via, host: servers.host, port: servers.ports.sink, bytes, warmupBytes: 0, direction: 'up' }, NO_CHECKPOINTS);
  }
}

if (mode === 'http') await requests(warmup * 20);
else {
  for (let i = 0; i < warmup; i++) {
    await tunnel('A');
    await tunnel('B');
  }
}
const results = { A: { cpu: [], p50: [] }, B: { cpu: [], p50: [] } };
for (let round = 0; round < rounds; round++) {
  const latencies = { A: [], B: [] };
  const between = !betweenOnce || round === 0;
  if (between && mode !== 'http' && httpBetween > 0) await requests(httpBetween);
  if (between && mode !== 'http' && upBetween > 0) await uploads(upBetween);
  if (between && pauseAfterBetween > 0) await new Promise((r) => setTimeout(r, pauseAfterBetween));
  const before = { A: cpuOf('A'), B: cpuOf('B') };
  if (mode === 'http') {
    const rates = await requests(count);
    for (const which of ['A', 'B']) {
      results[which].cpu.push(((cpuOf(which) - before[which]) / count) * 1e6);
      results[which].p50.push(rates[which]);
    }
    const row = (which) => `${which} ${results[which].cpu.at(-1).toFixed(1)} µs CPU a request, ${results[which].p50.at(-1).toFixed(0)} requests/s`;
    console.log(`round ${round + 1}: ${row('A')} | ${row('B')}`);
    continue;
  }
  if (mode === 'seq') {
    for (let i = 0; i < count; i++) {
      const first = (i + round) % 2 === 0 ? 'A' : 'B';
      const second = first === 'A' ? 'B' : 'A';
      latencies[first].push(await tunnel(first));
      latencies[second].push(await tunnel(second));
    }
  } else {
    let started = 0;
    const loop = async (k) => {
      const which = k % 2 === 0 ? 'A' : 'B';
      while (started < 2 * count) {
        started++;
        latencies[which].push(await tunnel(which));
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, k) => loop(k)));
  }
  for (const which of ['A', 'B']) {
    results[which].cpu.push(((cpuOf(which) - before[which]) / latencies[which].length) * 1e6);
    results[which].p50.push(median(latencies[which]));
  }
  const row = (which) => `${which} ${results[which].cpu.at(-1).toFixed(0)} µs CPU, p50 ${results[which].p50.at(-1).toFixed(0)} µs`;
  console.log(`round ${round + 1}: ${row('A')} | ${row('B')}`);
}
const ratios = (key) => results.B[key].map((b, i) => b / results.A[key][i]);
const fmt = (values) => values.map((v) => v.toFixed(3)).join(' ');
const unit = mode === 'http' ? 'request' : 'tunnel';
const second = mode === 'http' ? { name: 'requests/s', suffix: '' } : { name: 'p50 latency', suffix: ' µs' };
console.log(`CPU per ${unit}, median: A ${median(results.A.cpu).toFixed(1)} µs, B ${median(results.B.cpu).toFixed(1)} µs; B/A per round ${fmt(ratios('cpu'))}, median ${median(ratios('cpu')).toFixed(3)}`);
console.log(`${second.name}, median: A ${median(results.A.p50).toFixed(0)}${second.suffix}, B ${median(results.B.p50).toFixed(0)}${second.suffix}; B/A per round ${fmt(ratios('p50'))}, median ${median(ratios('p50')).toFixed(3)}`);
await proxies.A.stop();
await proxies.B.stop();
await cp.close();
servers.stop();
