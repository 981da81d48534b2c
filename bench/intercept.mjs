// TLS interception figures (issue 5): `node bench/intercept.mjs` after `npm run build`, or as the
// last part of `npm run bench` (run.mjs calls it unless BENCH_SKIP has `intercept`).
// kaizen-proxy (dist/cli.js serve, decision logging on, no account) intercepts 127.0.0.1 and
// 127.0.1.0/24-style hosts; a local HTTPS origin sits behind it. Measured from a client process:
//   - CONNECT + TLS handshake to a host never seen (certificate minted) and to the same hosts again
//     (cached), sequentially, p50/p99;
//   - the proxy's event-loop delay (prom-client's nodejs_eventloop_lag_max_seconds, 10 ms
//     resolution) while those new hosts are minted;
//   - minting alone, in this process (dist/intercept), p50/p99/max;
//   - requests/s and proxy CPU per request over keep-alive connections: an opaque tunnel (the
//     client's TLS goes to the origin) beside an intercepted one (each request decided and forwarded).
// Writes bench/out/intercept.md and intercept.json. Targets: a new host's certificate <= 10 ms,
// no event-loop stall over 20 ms.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { treeCpuSeconds } from './lib/proc.mjs';
import { startKaizenWithConfig } from './lib/kaizen.mjs';
import { loopDelayMaxMs } from './lib/loop-delay.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const OUT = join(BENCH, 'out');
const NEW_HOSTS = Number(process.env.BENCH_INTERCEPT_HOSTS ?? 200);
const CONNECTIONS = 8;
const REQUESTS_PER_CONNECTION = Number(process.env.BENCH_INTERCEPT_REQUESTS ?? 500);
const TARGET_MINT_MS = 10;
const TARGET_STALL_MS = 20;
// The proxy runs on the node run.mjs gives kaizen-proxy (BENCH_PROXY_NODE, as `bench:image-node`
// sets it); the client and the in-process minting figure use the node running this file.
const PROXY_NODE = process.env.BENCH_PROXY_NODE || process.execPath;
const proxyNodeVersion = () => (PROXY_NODE === process.execPath ? process.version : execFileSync(PROXY_NODE, ['--version'], { encoding: 'utf8' }).trim());

const dist = (path) => import(pathToFileURL(join(ROOT, 'dist', path)).href);
const log = (msg) => process.stderr.write(`[intercept] ${msg}\n`);

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** 127.0.1.1, 127.0.1.2, ...: distinct intercepted hosts that need no DNS. */
const newHost = (i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;

async function startOrigin(dir) {
  const { createCaPem } = await dist('intercept/ca-create.js');
  const { loadCa } = await dist('intercept/ca-load.js');
  const { createLeafIssuer } = await dist('intercept/leaf-issuer.js');
  const caDir = join(dir, 'origin-ca');
  mkdirSync(caDir);
  const { certPem, keyPem } = createCaPem('bench origin CA', 2, new Date());
  writeFileSync(join(caDir, 'ca.pem'), certPem);
  writeFileSync(join(caDir, 'ca-key.pem'), keyPem);
  const issuer = createLeafIssuer(await loadCa(caDir));
  const byName = { localhost: tls.createSecureContext({ key: issuer.keyPem, cert: issuer.issue('localhost').certPem }) };
  const body = 'hello, bench\n';
  const server = https.createServer(
    {
      key: issuer.keyPem,
      cert: issuer.issue('127.0.0.1').certPem,
      SNICallback: (name, cb) => cb(null, byName[name]),
      keepAliveTimeout: 60_000,
    },
    (req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
      res.end(body);
    },
  );
  const counts = { connections: 0 };
  server.on('secureConnection', () => { counts.connections += 1; });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, counts, port: server.address().port, caFile: join(caDir, 'ca.pem'), caPem: certPem };
}

async function startProxy(dir, originCaFile) {
  const { initCa } = await dist('intercept/ca-create.js');
  const ca = await initCa(join(dir, 'certs'), { name: 'bench interception CA', days: 2, force: false });
  const hosts = ['127.0.0.1', ...Array.from({ length: NEW_HOSTS }, (_, i) => newHost(i))];
  const config = join(dir, 'kaizen-proxy.yaml');
  writeFileSync(
    config,
    [
      'listen: 127.0.0.1:0',
      'admin: 127.0.0.1:0',
      'network: {allow_private: [127.0.0.0/8]}',
      `data_dir: "${join(dir, 'data')}"`,
      `intercept: {ca_dir: "${join(dir, 'certs')}", hosts: [${hosts.map((h) => `"${h}"`).join(', ')}], upstream_ca: "${originCaFile}"}`,
    ].join('\n'),
  );
  const logFile = join(OUT, 'kaizen-intercept.log');
  const env = { ...process.env, NODE_ENV: 'production' };
  delete env.KAIZEN_API_KEY;
  // BENCH_INTERCEPT_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the proxy.
  const nodeArgs = (process.env.BENCH_INTERCEPT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const started = await startKaizenWithConfig({ cli: join(ROOT, 'dist', 'cli.js'), config, logFile, env, node: PROXY_NODE, nodeArgs, timeoutMs: 15_000 });
  return { ...started, caPem: ca.certPem };
}

function connectThrough(proxy, authority) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
    let head = '';
    const onData = (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (head.startsWith('HTTP/1.1 200')) resolve(socket);
      else reject(new Error(head.split('\r\n')[0]));
    };
    socket.on('data', onData);
  });
}

async function handshake(proxy, authority, servername, ca) {
  const socket = await connectThrough(proxy, authority);
  return new Promise((resolve, reject) => {
    // The identity is checked against `host` (an IP literal's SAN) or the SNI name.
    const host = authority.slice(0, authority.lastIndexOf(':'));
    const secure = tls.connect({ socket, ca, host, ...(servername === undefined ? {} : { servername }), ALPNProtocols: ['http/1.1'] });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', reject);
  });
}

/** CONNECT + TLS handshake to each host in turn, ms each. */
async function handshakes(proxy, hosts, ca) {
  const times = [];
  for (const host of hosts) {
    const started = performance.now();
    const socket = await handshake(proxy, `${host}:443`, net.isIP(host) ? undefined : host, ca);
    times.push(performance.now() - started);
    socket.destroy();
  }
  return times;
}

/** Sequential keep-alive GETs on `connections` TLS connections at once; requests/s and proxy CPU µs per request. */
async function throughput(proxy, open, hostHeader) {
  const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, open));
  const request = Buffer.from(`GET /bench HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`);
  const cpuBefore = treeCpuSeconds(proxy.child.pid);
  const started = performance.now();
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise((resolve, reject) => {
          let left = REQUESTS_PER_CONNECTION;
          let buffered = '';
          socket.on('data', (chunk) => {
            buffered += chunk.toString('latin1');
            // Each answer is a fixed-size response ending in the body's newline.
            while (buffered.includes('hello, bench\n')) {
              buffered = buffered.slice(buffered.indexOf('hello, bench\n') + 13);
              left -= 1;
              if (left === 0) return resolve();
              socket.write(request);
            }
          });
          socket.once('error', reject);
          socket.once('close', () => (left > 0 ? reject(new Error(`closed with ${left} requests left`)) : undefined));
          socket.write(request);
        }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = treeCpuSeconds(proxy.child.pid) - cpuBefore;
  for (const socket of sockets) socket.destroy();
  const total = CONNECTIONS * REQUESTS_PER_CONNECTION;
  return { perSecond: total / seconds, cpuMicrosPerRequest: (cpu / total) * 1e6 };
}

async function mintAlone(dir) {
  const { loadCa } = await dist('intercept/ca-load.js');
  const { createLeafIssuer } = await dist('intercept/leaf-issuer.js');
  const issuer = createLeafIssuer(await loadCa(join(dir, 'certs')));
  // CPU time, not wall time: on a shared machine a preempted mint would otherwise count the wait.
  const times = [];
  for (let i = 0; i < 2_000; i++) {
    const started = process.cpuUsage();
    tls.createSecureContext({ key: issuer.keyPem, cert: issuer.issue(`h${i}.bench.example`).certPem });
    const used = process.cpuUsage(started);
    times.push((used.user + used.system) / 1000);
  }
  return times;
}

export async function runInterceptBench() {
  mkdirSync(OUT, { recursive: true });
  const dir = mkdtempSync(join(os.tmpdir(), 'kzp-bench-intercept-'));
  const origin = await startOrigin(dir);
  const proxy = await startProxy(dir, origin.caFile);
  try {
    const hosts = Array.from({ length: NEW_HOSTS }, (_, i) => newHost(i));
    await handshakes(proxy, ['127.0.0.1'], proxy.caPem); // warm the proxy's TLS and decision paths
    await loopDelayMaxMs(proxy.adminPort); // resets the lag histogram
    log(`${NEW_HOSTS} new hosts`);
    const fresh = await handshakes(proxy, hosts, proxy.caPem);
    const lagMs = await loopDelayMaxMs(proxy.adminPort);
    log(`${NEW_HOSTS} cached hosts`);
    const cached = await handshakes(proxy, hosts, proxy.caPem);
    // The same figure with nothing minted: what the machine's load alone costs the event loop.
    const cachedLagMs = await loopDelayMaxMs(proxy.adminPort);
    const opaqueHandshake = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      (await handshake(proxy, `localhost:${origin.port}`, 'localhost', origin.caPem)).destroy();
      opaqueHandshake.push(performance.now() - started);
    }
    log('throughput');
    const opaque = await throughput(proxy, () => handshake(proxy, `localhost:${origin.port}`, 'localhost', origin.caPem), `localhost:${origin.port}`);
    const originConnectionsBefore = origin.counts.connections;
    const intercepted = await throughput(proxy, () => handshake(proxy, `127.0.0.1:${origin.port}`, undefined, proxy.caPem), `127.0.0.1:${origin.port}`);
    const upstreamConnections = origin.counts.connections - originConnectionsBefore;
    const mint = await mintAlone(dir);
    const ms = (v) => `${v.toFixed(2)} ms`;
    const rows = [
      ['new host: CONNECT + TLS handshake, p50 / p99', `${ms(quantile(fresh, 0.5))} / ${ms(quantile(fresh, 0.99))}`, ''],
      ['cached host: CONNECT + TLS handshake, p50 / p99', `${ms(quantile(cached, 0.5))} / ${ms(quantile(cached, 0.99))}`, ''],
      ['opaque tunnel to the origin: CONNECT + dial + TLS handshake, p50', ms(quantile(opaqueHandshake, 0.5)), ''],
      ['CPU to mint a new host\'s certificate and TLS context (in process), p50 / p99 / max', `${ms(quantile(mint, 0.5))} / ${ms(quantile(mint, 0.99))} / ${ms(Math.max(...mint))}`, `<= ${TARGET_MINT_MS} ms: ${quantile(mint, 0.99) <= TARGET_MINT_MS ? 'pass' : 'FAIL'}`],
      [`proxy event-loop delay, max while minting ${NEW_HOSTS} new hosts`, lagMs === null ? 'n/a' : ms(lagMs), lagMs === null ? '' : `<= ${TARGET_STALL_MS} ms: ${lagMs <= TARGET_STALL_MS ? 'pass' : 'FAIL'}`],
      [`proxy event-loop delay, max while handshaking the same ${NEW_HOSTS} hosts cached (reference)`, cachedLagMs === null ? 'n/a' : ms(cachedLagMs), ''],
      [`requests/s, ${CONNECTIONS} keep-alive connections: opaque tunnel / intercepted`, `${opaque.perSecond.toFixed(0)} / ${intercepted.perSecond.toFixed(0)}`, ''],
      ['proxy CPU per request: opaque tunnel / intercepted', `${opaque.cpuMicrosPerRequest.toFixed(0)} µs / ${intercepted.cpuMicrosPerRequest.toFixed(0)} µs`, ''],
      ['TLS connections the proxy opened to the origin for the intercepted requests', String(upstreamConnections), ''],
    ];
    const markdown = [
      '### TLS interception',
      '',
      '| measure | value | target |',
      '|---|---|---|',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      '',
      `kaizen-proxy on Node ${proxyNodeVersion()}; client and in-process minting on Node ${process.version}; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}. Intercepted requests are each decided (local policy, no account) and forwarded over the proxy's pooled TLS to the origin; opaque ones are bytes in a tunnel.`,
      '',
    ].join('\n');
    writeFileSync(join(OUT, 'intercept.md'), markdown);
    writeFileSync(join(OUT, 'intercept.json'), JSON.stringify({ fresh, cached, opaqueHandshake, lagMs, cachedLagMs, opaque, intercepted, mint: { p50: quantile(mint, 0.5), p99: quantile(mint, 0.99), max: Math.max(...mint) } }, null, 2));
    return { markdown, failures: rows.filter((r) => r[2].includes('FAIL')).length };
  } finally {
    proxy.child.kill('SIGTERM');
    await new Promise((resolve) => (proxy.child.exitCode !== null ? resolve() : proxy.child.once('exit', resolve)));
    origin.server.closeAllConnections();
    origin.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { markdown, failures } = await runInterceptBench();
  process.stdout.write(`\n${markdown}`);
  process.exitCode = failures > 0 && process.env.BENCH_STRICT === '1' ? 1 : 0;
}
