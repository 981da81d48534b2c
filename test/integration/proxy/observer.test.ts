import { describe, expect, it } from 'vitest';
import type { ClosedEvent, DecisionEvent, ProxyObserver, RefusedEvent } from '../../../src/contract/observer.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin } from '../../helpers/origins.js';
import { RawClient, rawExchange } from '../../helpers/raw-client.js';
import { startProxy } from '../../helpers/start-proxy.js';

describe('observer events', () => {
  it('reports each decision, each finished exchange and each early refusal, and survives an observer that throws', async () => {
    const decided: DecisionEvent[] = [];
    const closed: ClosedEvent[] = [];
    const refused: RefusedEvent[] = [];
    let waiter: (() => void) | null = null;
    const observer: ProxyObserver = {
      decided: (event) => {
        decided.push(event);
        throw new Error('observers must not break the data plane');
      },
      closed: (event) => {
        closed.push(event);
        waiter?.();
      },
      refused: (event) => refused.push(event),
    };
    const origin = await startOrigin();
    const proxy = await startProxy({ observer, decider: createFakeDecider({ block: ['blocked.test'] }), limits: { maxConnections: 1 } });
    try {
      const client = await RawClient.open(proxy.port);
      const closedTwice = new Promise<void>((resolve) => {
        waiter = () => {
          if (closed.length === 2) resolve();
        };
      });
      client.write(`POST ${origin.url}/sha256?k=v HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc`);
      expect((await client.readResponse()).status).toBe(200);
      client.write(`GET http://blocked.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect((await client.readResponse()).status).toBe(403);
      await closedTwice;

      const overflow = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\n\r\n');
      expect(overflow).toMatch(/^HTTP\/1\.1 503 /);
      client.write('GET /origin-form HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await client.readResponse()).status).toBe(400);
      client.destroy();

      expect(decided.map((e) => [e.agent, e.action.kind, e.action.target, e.decision.decision])).toEqual([
        ['test-agent', 'http', `127.0.0.1:${origin.port}`, 'allow'],
        ['test-agent', 'http', `blocked.test:${origin.port}`, 'block'],
      ]);
      expect(closed[0]).toMatchObject({ agent: 'test-agent', status: 200, bytesUp: 3, action: { metadata: { path: '/sha256' } } });
      expect(closed[1]).toMatchObject({ status: 403, error: 'KZP_ERR_BLOCKED' });
      expect(refused).toEqual([
        { code: 'KZP_ERR_LIMIT_CONNECTIONS', reason: 'max_connections' },
        { code: 'KZP_ERR_ORIGIN_FORM', reason: 'origin_form' },
      ]);
    } finally {
      await Promise.all([proxy.close(), origin.close()]);
    }
  });
});
