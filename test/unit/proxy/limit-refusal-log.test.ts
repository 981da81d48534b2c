import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observe/logger.js';
import { metricsObserver } from '../../../src/observe/metrics-observer.js';
import { createProxyMetrics } from '../../../src/observe/proxy-metrics.js';
import { createLimitRefusalLog } from '../../../src/proxy/limit-refusal-log.js';
import { errorRefusal } from '../../../src/proxy/refusal.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

const OVERFLOW = errorRefusal('KZP_ERR_LIMIT_CONNECTIONS');
const CLIENT_OVERFLOW = errorRefusal('KZP_ERR_LIMIT_CLIENT_CONNECTIONS');

function harness() {
  let clock = 1_000;
  const logs = new CapturedLogs();
  const log = createLimitRefusalLog(createLogger({ level: 'info', destination: logs }), { now: () => clock });
  return {
    log,
    refused: () => logs.lines.filter((line) => line.msg === 'refused').map(({ status, code, client, max_connections, max_connections_per_client, suppressed }) => ({ status, code, client, max_connections, max_connections_per_client, suppressed })),
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('the refused lines of the connection limits', () => {
  it('max_connections_per_client: one line per client every 10 s, the next saying how many were held back', () => {
    const h = harness();
    for (let i = 0; i < 5; i++) h.log.clientConnections(CLIENT_OVERFLOW, 2, '10.0.0.1');
    h.log.clientConnections(CLIENT_OVERFLOW, 2, '10.0.0.2');
    h.advance(9_999);
    h.log.clientConnections(CLIENT_OVERFLOW, 2, '10.0.0.1');
    h.advance(1);
    h.log.clientConnections(CLIENT_OVERFLOW, 2, '10.0.0.1');
    const line = (client: string, suppressed: number) => ({ status: 429, code: 'KZP_ERR_LIMIT_CLIENT_CONNECTIONS', client, max_connections: undefined, max_connections_per_client: 2, suppressed });
    expect(h.refused()).toEqual([line('10.0.0.1', 0), line('10.0.0.2', 0), line('10.0.0.1', 5)]);
  });

  it('max_connections: one line for the limit whichever clients are refused, the client named when it was read', () => {
    const h = harness();
    h.log.connections(OVERFLOW, 100, '10.0.0.1');
    h.log.connections(OVERFLOW, 100, '10.0.0.2');
    h.log.connections(OVERFLOW, 100, null);
    h.advance(10_000);
    h.log.connections(OVERFLOW, 100, null);
    h.log.clientConnections(CLIENT_OVERFLOW, 2, '10.0.0.1');
    expect(h.refused()).toEqual([
      { status: 503, code: 'KZP_ERR_LIMIT_CONNECTIONS', client: '10.0.0.1', max_connections: 100, max_connections_per_client: undefined, suppressed: 0 },
      // Not read (a loopback-only listener without per-client limits): the field is left out.
      { status: 503, code: 'KZP_ERR_LIMIT_CONNECTIONS', client: undefined, max_connections: 100, max_connections_per_client: undefined, suppressed: 2 },
      // Each limit has its own allowance: a flood past one never hides the other.
      { status: 429, code: 'KZP_ERR_LIMIT_CLIENT_CONNECTIONS', client: '10.0.0.1', max_connections: undefined, max_connections_per_client: 2, suppressed: 0 },
    ]);
  });

  it('descriptors exhausted: one line per reason and syscall every 10 s, a dial answered 503, an accept unanswered', () => {
    let clock = 1_000;
    const logs = new CapturedLogs();
    const log = createLimitRefusalLog(createLogger({ level: 'info', destination: logs }), { now: () => clock });
    for (let i = 0; i < 3; i++) log.descriptors('EMFILE', 'connect');
    log.descriptors('ENFILE', 'connect');
    log.descriptors('EMFILE', 'accept');
    clock += 10_000;
    log.descriptors('EMFILE', 'connect');
    const lines = logs.lines.filter((line) => line.msg === 'refused').map(({ level, status, code, reason, syscall, suppressed }) => ({ level, status, code, reason, syscall, suppressed }));
    const line = (status: number, reason: string, syscall: string, suppressed: number) => ({ level: 'warn', status, code: 'KZP_ERR_LIMIT_CONNECTIONS', reason, syscall, suppressed });
    expect(lines).toEqual([line(503, 'EMFILE', 'connect', 0), line(503, 'ENFILE', 'connect', 0), line(0, 'EMFILE', 'accept', 0), line(503, 'EMFILE', 'connect', 2)]);
  });

  it('descriptors exhausted: every refusal counted in kaizen_proxy_limit_refusals_total{limit="descriptors"}, its line held back or not', async () => {
    const metrics = createProxyMetrics({ activeConnections: () => 0, activeTunnels: () => 0, cacheEntries: () => 0, policySync: () => [] });
    try {
      const logs = new CapturedLogs();
      const log = createLimitRefusalLog(createLogger({ level: 'info', destination: logs }), { observer: metricsObserver(metrics), now: () => 1_000 });
      for (let i = 0; i < 3; i++) log.descriptors('EMFILE', 'connect');
      log.descriptors('ENFILE', 'accept');
      expect(logs.lines.filter((line) => line.msg === 'refused')).toHaveLength(2);
      const counted = (await metrics.limitRefusals.get()).values.map(({ labels, value }) => ({ labels, value }));
      expect(counted).toEqual([{ labels: { limit: 'descriptors' }, value: 4 }]);
    } finally {
      metrics.loopDelay.close();
    }
  });
});
