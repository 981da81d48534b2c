import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { KaizenProxyError } from '../../../../src/errors/kaizen-error.js';
import { openReportSpool, type ReportSpool } from '../../../../src/verdict/spool/report-spool.js';
import { startSpoolReplayer } from '../../../../src/verdict/spool/spool-replayer.js';
import type { Traffic } from '../../../../src/verdict/request-slots.js';
import type { ControlPlaneResult, VerdictClient, VerdictReport } from '../../../../src/verdict/verdict-client.js';
import { captureLogs } from '../../../integration/verdict/support.js';
import { countingMetrics, eventId, report, tempDir, type CountingMetrics } from './spool-fixtures.js';

const OK: ControlPlaneResult = { ok: true, answer: { kind: 'recorded', verdictId: null } };
const DOWN: ControlPlaneResult = { ok: false, error: new KaizenProxyError('KZP_ERR_CONTROL_PLANE_HTTP', 'control plane answered 503') };
const REJECTED: ControlPlaneResult = { ok: false, error: new KaizenProxyError('KZP_ERR_CONTROL_PLANE_HTTP', 'control plane answered 400'), rejected: true };

/** A client that answers by a rule and records what it accepted, in arrival order, and how each send was marked. */
function scriptedClient(answer: (report: VerdictReport, call: number) => ControlPlaneResult, latencyMs = 1) {
  const accepted: string[] = [];
  const traffic = new Set<Traffic | undefined>();
  let calls = 0;
  const client: VerdictClient = {
    async send(sent, marked) {
      traffic.add(marked);
      calls += 1;
      const result = answer(sent, calls);
      await new Promise((resolve) => setTimeout(resolve, latencyMs * (1 + (calls % 3))));
      if (result.ok) accepted.push(eventId(sent) ?? '?');
      return result;
    },
    close: () => Promise.resolve(),
  };
  return { client, accepted, traffic, calls: () => calls };
}

async function filled(count: number): Promise<{ spool: ReportSpool; metrics: CountingMetrics }> {
  const metrics = countingMetrics();
  const spool = await openReportSpool({ dir: tempDir(), maxBytes: 1 << 26, flushIntervalMs: 5, logger: captureLogs('info').logger, metrics });
  for (let n = 1; n <= count; n += 1) spool.append(report(n));
  await spool.flush();
  return { spool, metrics };
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const ids = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `e-${from + i}`);

describe('spool replayer', () => {
  it('delivers every entry exactly once and in order, through failures that come and go', async () => {
    const { spool, metrics } = await filled(60);
    // Every 7th call fails, so failures hit replays that have later ones in flight behind them.
    const { client, accepted, traffic } = scriptedClient((_, call) => (call % 7 === 0 ? DOWN : OK));
    const replayer = startSpoolReplayer({ spool, client, ratePerSecond: 1000, logger: captureLogs('info').logger, metrics, backoff: { minMs: 5, maxMs: 20 } });
    await until(() => spool.pending === 0);
    await replayer.stop();
    // Background traffic: replays yield the control-plane slots to live verdicts (request-slots.ts).
    expect([...traffic]).toEqual(['background']);
    expect([...accepted].sort()).toEqual(ids(1, 60).sort());
    expect(new Set(accepted).size).toBe(60);
    expect(metrics.counts.replayed).toBe(60);
    await spool.close();
  });

  it('sends one at a time in spool order when concurrency is 1, and picks up entries spooled later', async () => {
    const { spool, metrics } = await filled(5);
    const { client, accepted } = scriptedClient(() => OK);
    const replayer = startSpoolReplayer({ spool, client, ratePerSecond: 1000, concurrency: 1, logger: captureLogs('info').logger, metrics });
    await until(() => accepted.length === 5);
    for (let n = 6; n <= 8; n += 1) spool.append(report(n));
    await until(() => accepted.length === 8 && spool.pending === 0);
    await replayer.stop();
    expect(accepted).toEqual(ids(1, 8));
    await spool.close();
  });

  it('drops an entry the control plane refuses for good, and goes on', async () => {
    const { spool, metrics } = await filled(4);
    const { client, accepted } = scriptedClient((sent) => (eventId(sent) === 'e-2' ? REJECTED : OK));
    const replayer = startSpoolReplayer({ spool, client, ratePerSecond: 1000, logger: captureLogs('info').logger, metrics });
    await until(() => spool.pending === 0);
    await replayer.stop();
    expect([...accepted].sort()).toEqual(['e-1', 'e-3', 'e-4']);
    expect(metrics.counts.dropped.rejected).toBe(1);
    await spool.close();
  });

  it('is paced to replay_rate', async () => {
    const { spool, metrics } = await filled(11);
    const { client } = scriptedClient(() => OK, 0);
    const started = performance.now();
    const replayer = startSpoolReplayer({ spool, client, ratePerSecond: 20, logger: captureLogs('info').logger, metrics });
    await until(() => spool.pending === 0);
    await replayer.stop();
    // 11 entries at 20/s: ten gaps of 50 ms. Only a lower bound is safe on a loaded machine.
    expect(performance.now() - started).toBeGreaterThanOrEqual(450);
    await spool.close();
  });

  it('a live failure pauses replay: an entry spooled for it waits for the backoff and past its Retry-After, a kick included', async () => {
    const { spool, metrics } = await filled(0);
    const sent: number[] = [];
    const { client, accepted } = scriptedClient(() => {
      sent.push(performance.now());
      return OK;
    });
    const replayer = startSpoolReplayer({ spool, client, ratePerSecond: 1000, logger: captureLogs('info').logger, metrics, backoff: { minMs: 50, maxMs: 50 } });
    const failedAt = performance.now();
    replayer.failed('KZP_ERR_CONTROL_PLANE_HTTP', 400);
    spool.append(report(1));
    replayer.kick();
    await until(() => accepted.length === 1, 5000);
    expect((sent[0] ?? 0) - failedAt).toBeGreaterThanOrEqual(390);
    await replayer.stop();
    await spool.close();
  });

  it('caps an absurd Retry-After from a replay at maxRetryAfterMs', async () => {
    const { spool, metrics } = await filled(1);
    const sent: number[] = [];
    const { client, accepted } = scriptedClient((_, call) => {
      sent.push(performance.now());
      return call === 1 ? { ...DOWN, retryAfterMs: 86_400_000 } : OK;
    });
    const replayer = startSpoolReplayer({ spool, client, ratePerSecond: 1000, logger: captureLogs('info').logger, metrics, backoff: { minMs: 5, maxMs: 5 }, maxRetryAfterMs: 300 });
    await until(() => accepted.length === 1, 5000);
    expect((sent[1] ?? 0) - (sent[0] ?? 0)).toBeGreaterThanOrEqual(290);
    await replayer.stop();
    await spool.close();
  });

  it('waits out its backoff while the control plane fails, and a live success cuts it short', async () => {
    const { spool, metrics } = await filled(3);
    let up = false;
    const { client, accepted, calls } = scriptedClient(() => (up ? OK : DOWN));
    const logs = captureLogs('info');
    const replayer = startSpoolReplayer({ spool, client, ratePerSecond: 1000, logger: logs.logger, metrics, backoff: { minMs: 60_000, maxMs: 60_000 } });
    await until(() => calls() >= 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls()).toBeLessThanOrEqual(4);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ msg: 'spool replay paused: the control plane is failing', pending: 3 }));
    up = true;
    replayer.kick();
    await until(() => spool.pending === 0, 5000);
    expect([...accepted].sort()).toEqual(ids(1, 3));
    await replayer.stop();
    expect(logs.lines().map((line) => line['msg'])).toEqual(
      expect.arrayContaining(['control plane answers again: replaying the spool', 'spool replayed: every spooled action reached the control plane']),
    );
    await spool.close();
  });

  it('stops when stop() comes while a read of the empty spool is still in progress', async () => {
    const { spool, metrics } = await filled(0);
    // The real spool, its reads held until the test lets them go (a slow disk, a slot check).
    let reads = 0;
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = new Proxy(spool, {
      get(target, property) {
        if (property !== 'readAfter') return Reflect.get(target, property, target) as unknown;
        return async (...args: Parameters<ReportSpool['readAfter']>) => {
          reads += 1;
          await held;
          return target.readAfter(...args);
        };
      },
    });
    const { client } = scriptedClient(() => OK);
    const replayer = startSpoolReplayer({ spool: slow, client, ratePerSecond: 1000, logger: captureLogs('info').logger, metrics });
    await until(() => reads === 1);
    const stopped = replayer.stop().then(() => 'stopped');
    release();
    // Before the fix the replayer went on to wait for new entries with its stop already past: for ever.
    const bound = new Promise<string>((resolve) => {
      setTimeout(() => {
        resolve('still running after 5 s');
      }, 5000).unref();
    });
    expect(await Promise.race([stopped, bound])).toBe('stopped');
    await spool.close();
  });
});
