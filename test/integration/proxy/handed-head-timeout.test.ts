import { describe, expect, it } from 'vitest';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy } from '../../helpers/start-proxy.js';

// A head the fast lane began waiting for and then handed to node:http (it turned out not lean) is
// timed from when it began, not again from the hand-over (src/proxy/lane-connection.ts).

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('the header timeout across the hand-over to node:http', () => {
  it('answers 408 KZP_ERR_HEADER_TIMEOUT by header_timeout from the head start, whichever path reads it', async () => {
    const proxy = await startProxy({ limits: { headerTimeoutMs: 2_000 } });
    try {
      const client = await RawClient.open(proxy.port);
      const started = performance.now();
      // 1.5 s of a method in the lane, then an origin-form target: not a lean head, node:http's from here.
      for (const byte of 'GET') {
        client.write(byte);
        await pause(500);
      }
      client.write(' /');
      const progress = { answered: false };
      const answer = client.readResponse().finally(() => {
        progress.answered = true;
      });
      // The rest of the head, trickled until the proxy answers (as slowloris clients do).
      void (async () => {
        for (const byte of 'x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: '.concat('a'.repeat(100))) {
          if (progress.answered) return;
          client.write(byte);
          await pause(100);
        }
      })();
      // 2 s plus one check interval (500 ms) from the start; about 4 s when node:http timed it again.
      const guard = new Promise<'guard'>((resolve) => {
        setTimeout(() => {
          resolve('guard');
        }, 3_500 - (performance.now() - started)).unref();
      });
      const first = await Promise.race([answer, guard]);
      expect(first).not.toBe('guard');
      const response = await answer;
      expect(response.status).toBe(408);
      expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_HEADER_TIMEOUT');
      client.destroy();
    } finally {
      await proxy.close();
    }
  });
});
