import { describe, expect, it } from 'vitest';
import { RawClient } from '../../helpers/raw-client.js';
import { startTransparent } from './direct-listener.js';

// The transparent listener's node:http checks header deadlines as often as the proxy port's: a
// quarter of header_timeout, not Node's default of every 30 s (which let a partial head sit ~26 s).

describe('the header timeout on the transparent listener', () => {
  it('answers a partial request head 408 KZP_ERR_HEADER_TIMEOUT within header_timeout and one check interval', async () => {
    const transparent = await startTransparent({ limits: { headerTimeoutMs: 2_000 } });
    try {
      const client = await RawClient.open(transparent.port);
      const started = performance.now();
      client.write('GET / HTTP/1.1\r\nX: y\r\n');
      // 2 s plus one check interval (500 ms), with room for a loaded machine; Node's default is 30 s.
      const guard = new Promise<'guard'>((resolve) => {
        setTimeout(() => {
          resolve('guard');
        }, 4_000).unref();
      });
      const answer = client.readResponse();
      const first = await Promise.race([answer, guard]);
      expect(first, `no answer after ${Math.round(performance.now() - started)} ms`).not.toBe('guard');
      const response = await answer;
      expect(response.status).toBe(408);
      expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_HEADER_TIMEOUT');
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_900);
      client.destroy();
    } finally {
      await transparent.close();
    }
  });

  // The sniff reads the first flight up to the request line's `HTTP/` before node:http gets the
  // connection, and node:http times a head from then: a slow request line and slow headers each
  // took up to header_timeout. One header_timeout bounds the whole head, from the accept.
  it('bounds a slow request line followed by slow headers by one header_timeout from the first byte', async () => {
    const transparent = await startTransparent({ limits: { headerTimeoutMs: 2_000 } });
    try {
      const client = await RawClient.open(transparent.port);
      const started = performance.now();
      client.write('GET / ');
      // 2 s from the first byte, with room for a loaded machine; timed twice over it was 3.8-4.3 s.
      const guard = new Promise<'guard'>((resolve) => {
        setTimeout(() => {
          resolve('guard');
        }, 3_400).unref();
      });
      const answer = client.readResponse();
      // The request line's end 1.8 s on (the client's pace, not a wait for readiness), then headers that never end.
      await new Promise((resolve) => setTimeout(resolve, 1_800));
      client.write('HTTP/1.1\r\nX: y\r\n');
      const first = await Promise.race([answer, guard]);
      expect(first, `no answer after ${Math.round(performance.now() - started)} ms`).not.toBe('guard');
      const response = await answer;
      expect(response.status).toBe(408);
      expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_HEADER_TIMEOUT');
      expect(performance.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(transparent.refused.map((event) => event.code)).toEqual(['KZP_ERR_HEADER_TIMEOUT']);
      client.destroy();
    } finally {
      await transparent.close();
    }
  });
});
