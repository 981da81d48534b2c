// How much of what a proxy allocates outlives V8's young-generation collections (scavenges), and
// what those cost, under new tunnels at 50 concurrent:
//   node bench/gc.mjs [kaizen | bare | raw | path/to/cli.js | path/to/proxy.mjs] [--total N] [--node-arg FLAG]...
// The proxy runs under --trace-gc (kaizen-proxy with the fake control plane and decision logging
// on, as the bench runs it); after a warm-up of 2,000 tunnels, N (default 20,000) more are made as
// connect-rate.mjs makes them, and the scavenges and full collections of that section are summed
// from the trace: per tunnel, bytes allocated, bytes promoted (allocated minus what each scavenge
// freed, i.e. what it kept), main-thread scavenge time; and the promoted share. A proxy whose
// closed tunnels are all freed young promotes little more than the tunnels open at each scavenge.
// A path ending in .mjs is run as the reference proxies are (a script that prints "listening <port>").
// Run this file with another node binary to measure the proxy on that runtime.
import { fork, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './lib/child.mjs';
import { startFakeControlPlane } from './lib/fake-control-plane.mjs';
import { kaizenCli, startKaizen } from './lib/kaizen.mjs';
import { raiseFdLimit } from './lib/proc.mjs';
import { sleep } from './lib/wait.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const which = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'kaizen';
const total = Number(arg('--total', 20_000));
const nodeArgs = ['--trace-gc', ...process.argv.filter((a, i) => process.argv[i - 1] === '--node-arg')];
const logFile = join(BENCH, 'out', `gc-${which.replace(/[^a-z0-9]+/gi, '-')}.log`);
raiseFdLimit(65_536);

const servers = await new Promise((res, reject) => {
  const child = fork(join(BENCH, 'lib', 'servers.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('message', (msg) => res({ ...msg, stop: () => child.disconnect() }));
  child.once('exit', (code) => reject(new Error(`servers exited (${code})`)));
});
const cp = await startFakeControlPlane();

async function startReference(script) {
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, script], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  for (;;) {
    const port = /listening (\d+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
    if (port !== undefined) return { pid: child.pid, via: { host: '127.0.0.1', port: Number(port) }, stop: async () => { child.kill('SIGKILL'); } };
    if (child.exitCode !== null) throw new Error(`${script} exited (${child.exitCode})`);
    await sleep(20);
  }
}

const proxy =
  which === 'bare' ? await startReference(join(BENCH, 'lib', 'bare-proxy.mjs'))
  : which === 'raw' ? await startReference(join(BENCH, 'lib', 'raw-floor-proxy.mjs'))
  : which.endsWith('.mjs') ? await startReference(resolve(which))
  : await startKaizen(which === 'kaizen' ? kaizenCli(dirname(BENCH)) : resolve(which), { controlPlaneUrl: cp.url, logFile, nodeArgs });

// The trace goes to the proxy's stdout, a file: the measured section is what it grew by between
// the two checkpoints.
const offsets = {};
const result = await runChild(join(BENCH, 'connect-rate.mjs'), { host: servers.host, port: servers.ports.echo, total, concurrency: 50, warmup: 2_000, via: proxy.via }, {
  timeoutMs: 300_000,
  onCheckpoint: async (name) => {
    await sleep(50); // V8 prints each collection when it ends; let the last one land
    offsets[name] = statSync(logFile).size;
  },
});
await proxy.stop();
await cp.close();
servers.stop();

const section = readFileSync(logFile).subarray(offsets.start, offsets.end).toString('utf8');
let scavenges = 0;
let scavengeMs = 0;
let allocatedMB = 0;
let promotedMB = 0;
let fullCollections = 0;
let after = null;
for (const line of section.split('\n')) {
  const scavenge = /Scavenge ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+)/.exec(line);
  if (scavenge) {
    const [before, next, ms] = scavenge.slice(1).map(Number);
    scavenges++;
    scavengeMs += ms;
    if (after !== null) {
      allocatedMB += before - after;
      promotedMB += next - after;
    }
    after = next;
    continue;
  }
  const full = /Mark-Compact [\d.]+ \([\d.]+\) -> ([\d.]+)/.exec(line);
  if (full) {
    fullCollections++;
    after = Number(full[1]);
  }
}
const perTunnel = (mb) => `${((mb * 1024 ** 2) / total / 1024).toFixed(1)} KB`;
console.log(`${which} on Node ${process.versions.node}, ${total} tunnels at 50 concurrent (${Math.round(total / result.seconds)}/s)${nodeArgs.length > 1 ? `, flags ${nodeArgs.slice(1).join(' ')}` : ''}`);
console.log(`scavenges ${scavenges}, ${scavengeMs.toFixed(0)} ms on the main thread (${((scavengeMs * 1000) / total).toFixed(1)} µs per tunnel); full collections ${fullCollections}`);
console.log(`per tunnel: allocated ${perTunnel(allocatedMB)}, promoted ${perTunnel(promotedMB)} (${((100 * promotedMB) / allocatedMB).toFixed(1)}% of what was allocated)`);
