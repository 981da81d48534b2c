/**
 * `npm run soak`: the built proxy as a child process under mixed traffic (plain requests allowed
 * and blocked, short and long-lived tunnels) while the control plane flaps (up, then down in turn
 * as refused, 503 and slow past the deadline), sampling RSS, event-loop delay and the spool's
 * counters over time. Ends by letting the spool drain and checking that every spooled action
 * reached the control plane exactly once. Not a test: it reports figures.
 *
 *   SOAK_SECONDS (default 600), SOAK_FLAP_SECONDS (60), SOAK_RATE (client operations/s, 60),
 *   SOAK_SAMPLE_SECONDS (10), SOAK_OUT (write the samples and summary as JSON there).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { reply, startFakeControlPlane } from '../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../helpers/origins.js';
import { spawnProxy } from '../integration/resilience/proxy-process.js';
import { delivered, eventIdOf } from '../integration/resilience/resilience-support.js';
import { startSwitchableFront } from '../integration/resilience/switchable-front.js';
import { formatSample, takeSample, type Sample } from './soak-sampler.js';
import { startTraffic } from './soak-traffic.js';

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const DURATION_S = env('SOAK_SECONDS', 600);
const FLAP_S = env('SOAK_FLAP_SECONDS', 60);
const RATE = env('SOAK_RATE', 60);
const SAMPLE_S = env('SOAK_SAMPLE_SECONDS', 10);
const API_KEY = 'kz_live_soak_key';
const PHASES = ['up', 'refused', 'up', '503', 'up', 'slow'] as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const cp = await startFakeControlPlane();
  const front = await startSwitchableFront(Number(new URL(cp.url).port));
  const origins: Origin[] = [];
  for (let i = 0; i < 20; i += 1) origins.push(await startOrigin());
  const echoSockets = new Set<Socket>();
  const echo = createServer((socket) => {
    echoSockets.add(socket);
    socket.on('close', () => echoSockets.delete(socket));
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const echoPort = (echo.address() as AddressInfo).port;
  const dataDir = mkdtempSync(join(tmpdir(), 'kzp-soak-'));
  const yaml = [
    'listen: 127.0.0.1:0',
    'admin: 127.0.0.1:0',
    `data_dir: ${dataDir}`,
    `control_plane: { url: "${front.url}", timeout: 500ms }`,
    'cache: { allow_ttl: 3s, block_ttl: 3s, stale_if_error: 20s }',
    'network: { allow_private: [127.0.0.0/8] }',
    'policies: [{ name: soak-block, mode: blocklist, rules: { ips: [127.0.0.3] } }]',
    'spool: { replay_rate: 200 }',
  ].join('\n');
  const proxy = await spawnProxy({ yaml, env: { KAIZEN_API_KEY: API_KEY } });
  const pid = proxy.child.pid ?? 0;
  const adminPort = proxy.adminPort ?? 0;
  console.log(`soak: ${DURATION_S}s, control plane flapping every ${FLAP_S}s, ~${RATE} client operations/s; proxy pid ${pid}, data_dir ${dataDir}`);

  // Every verdict call the fake answered in time, by event_id (drained as the soak goes, to keep memory flat).
  const deliveredCount = new Map<string, number>();
  const drain = (): void => {
    const batch = cp.requests.slice();
    cp.resetRequests();
    for (const seen of batch) {
      const id = eventIdOf(seen.body);
      if (id !== undefined && delivered(seen.reply)) deliveredCount.set(id, (deliveredCount.get(id) ?? 0) + 1);
    }
  };

  let phase: string = 'up';
  async function setPhase(next: (typeof PHASES)[number]): Promise<void> {
    phase = next;
    await front.up();
    if (next === 'refused') await front.down();
    else if (next === '503') cp.respondWith(reply.status(503));
    else if (next === 'slow') cp.respondWith(reply.slow(2_000, reply.allow()));
    else cp.respondWith(reply.allow());
  }

  const traffic = startTraffic({ proxyPort: proxy.port, origins: origins.map((o) => o.url), blocked: `http://127.0.0.3:${origins[0]?.port ?? 1}`, echoPort }, RATE, 30);
  const samples: Sample[] = [];
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  let nextFlap = FLAP_S;
  let flaps = 0;
  while (elapsed() < DURATION_S) {
    await sleep(Math.min(SAMPLE_S * 1000, Math.max(0, (nextFlap - elapsed()) * 1000)));
    if (elapsed() >= nextFlap) {
      flaps += 1;
      await setPhase(PHASES[flaps % PHASES.length] ?? 'up');
      nextFlap += FLAP_S;
    }
    drain();
    proxy.lines.length = 0;
    const sample = await takeSample(pid, adminPort, elapsed(), phase);
    if (samples.length === 0 || sample.seconds - (samples[samples.length - 1]?.seconds ?? 0) >= SAMPLE_S - 0.5) {
      samples.push(sample);
      console.log(formatSample(sample));
    }
  }

  await traffic.stop();
  await setPhase('up');
  // Live traffic has stopped: let the spool drain (a verdict call kicks the replay at once).
  const drainStarted = performance.now();
  for (;;) {
    drain();
    const sample = await takeSample(pid, adminPort, elapsed(), 'up');
    if (sample.pending === 0 || performance.now() - drainStarted > 180_000) {
      samples.push(sample);
      console.log(formatSample(sample));
      break;
    }
    await sleep(2_000);
  }
  drain();
  const last = samples[samples.length - 1];
  const duplicates = [...deliveredCount.values()].filter((count) => count > 1).length;
  const summary = {
    seconds: Math.round(elapsed()),
    flaps,
    rssMiB: { first: samples[0]?.rssMiB, max: Math.max(...samples.map((s) => s.rssMiB)), last: last?.rssMiB },
    loopP99MsMax: Math.max(...samples.map((s) => s.loopP99Ms)),
    loopMaxMsMax: Math.max(...samples.map((s) => s.loopMaxMs)),
    actions: last?.actions,
    verdictCallsAnswered: last?.sent,
    deliveredLive: deliveredCount.size - (last?.replayed ?? 0),
    spooled: last?.spooled,
    replayed: last?.replayed,
    dropped: last?.dropped,
    pendingAtEnd: last?.pending,
    eventsDeliveredAtTheFake: deliveredCount.size,
    eventsDeliveredMoreThanOnce: duplicates,
    clients: Object.fromEntries([...traffic.counts.outcomes].sort()),
  };
  console.log(`soak summary: ${JSON.stringify(summary, null, 2)}`);
  const out = process.env['SOAK_OUT'];
  if (out !== undefined && out !== '') writeFileSync(out, JSON.stringify({ summary, samples }, null, 2));

  await proxy.stop();
  for (const socket of echoSockets) socket.destroy();
  echo.close();
  for (const origin of origins) await origin.close();
  await front.close();
  await cp.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
