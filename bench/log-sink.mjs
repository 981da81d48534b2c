// Does the decision log keep up when stdout is a pipe? kaizen-proxy serves plain-HTTP keep-alive
// requests at full rate (http-keepalive.mjs's client, 50 connections; the fake control plane,
// verdicts cached, decision logging on, as the bench runs it) with its stdout one of:
//   file   a regular file (what the bench uses; batches are written from libuv's thread pool)
//   fifo   a FIFO (mkfifo), what Docker and containerd give a container, drained by READER
// and reports requests/s, the proxy's CPU per request, the decision lines that arrived against the
// requests sent, the lines dropped (KZP_ERR_LOG_DROPPED) and how long SIGTERM took to exit (lib/kaizen.mjs sends SIGKILL at 3 s).
//   node bench/log-sink.mjs [file|fifo] [--total N] [--cli path/to/cli.js]
// READER is a shell command reading stdin and writing stdout (default `cat`), e.g. a slower
// reader: READER='python3 -c "import sys,json
// for l in sys.stdin: json.loads(l); sys.stdout.write(l)"'. Output lands in bench/out/log-sink/.
import { execFileSync, fork, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChild } from './lib/child.mjs';
import { startFakeControlPlane } from './lib/fake-control-plane.mjs';
import { kaizenCli, startKaizen } from './lib/kaizen.mjs';
import { treeCpuSeconds } from './lib/proc.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const OUT = join(BENCH, 'out', 'log-sink');
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const mode = process.argv[2] === 'fifo' ? 'fifo' : 'file';
const total = Number(arg('--total', 200_000));
const warmup = 1_000;
const cli = arg('--cli', kaizenCli(dirname(BENCH)));
if (cli === null) throw new Error('no dist/cli.js: run npm run build first');
const reader = process.env.READER ?? 'cat';

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const logFile = join(OUT, 'kaizen.log');

const servers = await new Promise((resolve, reject) => {
  const child = fork(join(BENCH, 'lib', 'servers.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('message', (msg) => resolve({ ...msg, stop: () => child.disconnect() }));
  child.once('exit', (code) => reject(new Error(`servers exited (${code})`)));
});
const cp = await startFakeControlPlane();

// The reader of a FIFO copies it to logFile, which startKaizen polls as it polls its own log file.
let drained = Promise.resolve();
let stdoutFd = null;
if (mode === 'fifo') {
  const fifo = join(OUT, 'stdout.fifo');
  execFileSync('mkfifo', [fifo]);
  const drain = spawn('sh', ['-c', `${reader} < '${fifo}' > '${logFile}'`], { stdio: 'inherit' });
  drained = new Promise((resolve) => drain.once('exit', resolve));
  stdoutFd = openSync(fifo, 'w'); // returns once the reader has the FIFO open
}
const proxy = await startKaizen(cli, { controlPlaneUrl: cp.url, logFile, stdoutFd });
if (stdoutFd !== null) closeSync(stdoutFd);

const cpuBefore = treeCpuSeconds(proxy.pid);
const result = await runChild(join(BENCH, 'http-keepalive.mjs'), { via: proxy.via, host: servers.host, port: servers.ports.origin, total, connections: 50, warmup });
const cpuAfter = treeCpuSeconds(proxy.pid);
const signalled = Date.now();
await proxy.stop();
const exitMs = Date.now() - signalled;
await drained;
servers.stop();
await cp.close();

const lines = readFileSync(logFile, 'utf8').split('\n');
const decisions = lines.filter((l) => l.includes('"msg":"decision"')).length;
const dropped = lines.filter((l) => l.includes('KZP_ERR_LOG_DROPPED')).reduce((sum, l) => sum + JSON.parse(l).dropped, 0);
console.log(JSON.stringify({
  stdout: mode === 'fifo' ? `fifo, read by ${reader}` : 'file',
  requestsPerSec: Math.round(result.perSec),
  proxyCpuUsPerRequest: Number((((cpuAfter - cpuBefore) / total) * 1e6).toFixed(1)),
  decisionLines: decisions,
  requests: total + warmup,
  droppedLines: dropped,
  exitMs,
}));
process.exit(0);
