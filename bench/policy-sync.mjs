// What a large synced policy costs the traffic beside it: `node bench/policy-sync.mjs [--cli path/to/cli.js]`
// after `npm run build`, or the last part of `npm run bench` (run.mjs calls it unless BENCH_SKIP has
// `policy-sync`). kaizen-proxy (decision logging on, an API key, `policy_sync.interval: 1s`) syncs
// from a local control plane whose answer is a threat feed of 100,000 domains and 30,000 ranges
// (about 3 MB). For WINDOW_MS the client sends sequential keep-alive GETs through the proxy to a
// local origin, twice: while the feed changes at every sync (each sync parses and compiles it), and
// while the control plane answers 304 (nothing to parse), the reference. Reported per window: syncs
// applied, request latency p50 / p99 / max, and the proxy's longest event-loop delay (/metrics).
// BENCH_PROXY_NODE runs the proxy on another node, as run.mjs does. Writes bench/out/policy-sync.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startKaizenWithConfig } from './lib/kaizen.mjs';
import { loopDelayMaxMs } from './lib/loop-delay.mjs';
import { sleep } from './lib/wait.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const OUT = join(BENCH, 'out');
const WINDOW_MS = Number(process.env.BENCH_POLICY_WINDOW_MS ?? 8_000);
const PROXY_NODE = process.env.BENCH_PROXY_NODE || process.execPath;
const log = (msg) => process.stderr.write(`[policy-sync] ${msg}\n`);

const DOMAINS = Array.from({ length: 99_999 }, (_, i) => `feed-${i}.example`);
const RANGES = Array.from({ length: 30_000 }, (_, i) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}/32`);
/** Two revisions of the feed, built once: a changing sync alternates them, so each one is applied. */
const FEEDS = ['a', 'b'].map((rev) => Buffer.from(JSON.stringify({ policies: [{ name: 'feed', mode: 'blocklist', rules: { domains: [`rev-${rev}.example`, ...DOMAINS], ips: RANGES } }] })));

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Verdicts allowed; GET /v1/policy the feed (`changing`: the other revision each time) or 304 (`quiet`). */
async function startControlPlane() {
  const state = { mode: 'quiet', served: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' && req.url.startsWith('/v1/policy')) {
        if (state.mode === 'quiet' && req.headers['if-none-match'] !== undefined) {
          res.writeHead(304).end();
          return;
        }
        const body = FEEDS[state.served++ % 2];
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, etag: `"${state.served}"` }).end(body);
        return;
      }
      const body = JSON.stringify({ decision: 'allow', reason: 'bench', id: 'v1' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  await new Promise((done) => server.listen({ host: '127.0.0.1', port: 0 }, done));
  return { url: `http://127.0.0.1:${server.address().port}`, state, close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }) };
}

async function startOrigin() {
  const server = http.createServer((req, res) => res.writeHead(200, { 'content-length': 2 }).end('ok'));
  server.keepAliveTimeout = 60_000;
  await new Promise((done) => server.listen({ host: '127.0.0.1', port: 0 }, done));
  return { port: server.address().port, close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }) };
}

async function startProxy(cli, cpUrl, dir) {
  const config = join(dir, 'kaizen-proxy.yaml');
  writeFileSync(config, ['listen: 127.0.0.1:0', 'admin: 127.0.0.1:0', 'network: {allow_private: [127.0.0.0/8]}', `control_plane: {url: "${cpUrl}"}`, 'policy_sync: {interval: 1s}', `data_dir: "${join(dir, 'data')}"`].join('\n'));
  const logFile = join(OUT, 'kaizen-policy-sync.log');
  // BENCH_POLICY_NODE_ARGS="--trace-gc" shows the proxy's collections in its log.
  const nodeArgs = (process.env.BENCH_POLICY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const env = { ...process.env, KAIZEN_API_KEY: 'bench-key', NODE_ENV: 'production' };
  return { ...(await startKaizenWithConfig({ cli, config, logFile, env, node: PROXY_NODE, nodeArgs })), logFile };
}

/** Sequential GETs on one keep-alive connection through the proxy for `ms`: each one's latency (ms). */
async function requestsFor(proxy, originPort, ms) {
  const socket = net.connect(proxy.port, '127.0.0.1');
  await new Promise((done, fail) => { socket.once('connect', done); socket.once('error', fail); });
  const request = Buffer.from(`GET http://127.0.0.1:${originPort}/feed-check HTTP/1.1\r\nHost: 127.0.0.1:${originPort}\r\n\r\n`);
  const latencies = [];
  const end = performance.now() + ms;
  let pending = null;
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    const at = buffered.indexOf('\r\n\r\n');
    if (at === -1 || buffered.length < at + 4 + 2) return;
    if (!buffered.startsWith('HTTP/1.1 200')) throw new Error(`unexpected answer: ${buffered.split('\r\n')[0]}`);
    buffered = buffered.slice(at + 6);
    pending?.();
  });
  while (performance.now() < end) {
    const t0 = performance.now();
    await new Promise((done) => { pending = done; socket.write(request); });
    latencies.push(performance.now() - t0);
  }
  socket.destroy();
  return latencies;
}

async function windowOf(proxy, cp, originPort, mode) {
  cp.state.mode = mode;
  // One sync in the new mode before measuring (a quiet window starts after a 304 has been seen).
  await sleep(1_500);
  await loopDelayMaxMs(proxy.adminPort);
  const appliedBefore = appliedCount(proxy);
  const latencies = await requestsFor(proxy, originPort, WINDOW_MS);
  const lagMs = await loopDelayMaxMs(proxy.adminPort);
  return { mode, applied: appliedCount(proxy) - appliedBefore, requests: latencies.length, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: Math.max(...latencies), lagMs };
}

const appliedCount = (proxy) => readFileSync(proxy.logFile, 'utf8').split('\n').filter((l) => l.includes('"msg":"synced policies updated"')).length;

export async function runPolicySyncBench(cli = resolve(BENCH, '..', 'dist', 'cli.js')) {
  mkdirSync(OUT, { recursive: true });
  const dir = mkdtempSync(join(os.tmpdir(), 'kzp-policy-bench-'));
  const cp = await startControlPlane();
  const origin = await startOrigin();
  cp.state.mode = 'changing';
  let proxy = null;
  try {
    proxy = await startProxy(cli, cp.url, dir);
    log(`proxy on ${proxy.port}; feed ${(FEEDS[0].length / 2 ** 20).toFixed(1)} MiB`);
    const changing = await windowOf(proxy, cp, origin.port, 'changing');
    log(`changing: ${changing.applied} syncs applied, ${changing.requests} requests, max ${changing.max.toFixed(1)} ms, loop delay max ${changing.lagMs} ms`);
    const quiet = await windowOf(proxy, cp, origin.port, 'quiet');
    log(`quiet: ${quiet.requests} requests, max ${quiet.max.toFixed(1)} ms, loop delay max ${quiet.lagMs} ms`);
    const ms = (v) => (v === null ? 'n/a' : `${v.toFixed(2)} ms`);
    const rows = [
      ['syncs whose answer was applied (parsed and compiled) in the window', String(changing.applied), String(quiet.applied)],
      ['sequential requests through the proxy in the window', changing.requests.toLocaleString('en-US'), quiet.requests.toLocaleString('en-US')],
      ['request latency p50 / p99', `${ms(changing.p50)} / ${ms(changing.p99)}`, `${ms(quiet.p50)} / ${ms(quiet.p99)}`],
      ['request latency, the longest', ms(changing.max), ms(quiet.max)],
      ['proxy event-loop delay, max in the window', ms(changing.lagMs), ms(quiet.lagMs)],
    ];
    const version = PROXY_NODE === process.execPath ? process.version : execFileSync(PROXY_NODE, ['--version'], { encoding: 'utf8' }).trim();
    const markdown = [
      '### Policy sync of a large feed',
      '',
      `| measure (${(WINDOW_MS / 1000).toFixed(0)} s windows, \`policy_sync.interval: 1s\`, feed of 100,000 domains and 30,000 ranges, ${(FEEDS[0].length / 2 ** 20).toFixed(1)} MiB) | feed changing at every sync | unchanged (304) |`,
      '|---|--:|--:|',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
      `kaizen-proxy (${cli === resolve(BENCH, '..', 'dist', 'cli.js') ? 'dist/cli.js' : cli}) on Node ${version}; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}.`,
      '',
    ].join('\n');
    writeFileSync(join(OUT, 'policy-sync.md'), markdown);
    return { markdown, changing, quiet };
  } finally {
    proxy?.child.kill('SIGTERM');
    if (proxy) await new Promise((done) => (proxy.child.exitCode !== null ? done() : proxy.child.once('exit', done)));
    await cp.close();
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--cli');
  const { markdown } = await runPolicySyncBench(at > 0 ? resolve(process.argv[at + 1]) : undefined);
  process.stdout.write(markdown);
}
