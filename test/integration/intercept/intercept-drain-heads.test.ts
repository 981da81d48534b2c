import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { startInterception, type Interception } from '../../helpers/interception.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { StartedProxy } from '../../helpers/start-proxy.js';
import { exchange, tlsThrough } from './tunnel-client.js';

/**
 * Heads arriving inside intercepted sessions (connections node:http parses) while a drain runs:
 * header_timeout bounds them as it bounds every other head (a 408), though node:http stops timing
 * heads once its server is closed; and a session that had sent no request when wrap mode's stop
 * began, whose head begins while the stop waits for something else, is served, not cut mid-head.
 */
const DRAIN_MS = 30_000;

let setup: Interception | undefined;

afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

/** A session whose TLS is up, and another's answer: the first's handshake (and bytes sent before) are the proxy's by then. */
async function sessionHeard(interception: Interception, before: string): Promise<TLSSocket> {
  const { ca, proxy, target } = interception;
  const open = (): Promise<TLSSocket> => tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
  const session = await open();
  session.on('error', () => undefined);
  if (before !== '') session.write(before);
  const other = await open();
  expect((await exchange(other, 'GET /other HTTP/1.1\r\nHost: api.stripe.com\r\nConnection: close\r\n\r\n')).status).toBe(200);
  return session;
}

function drainEnded(proxy: StartedProxy): Record<string, unknown> | undefined {
  return proxy.logs.lines.find((line) => line.msg === 'drain ended');
}

describe('drain: heads inside intercepted sessions', () => {
  it('a head half sent when the drain begins is answered 408 at header_timeout, not held to the deadline', async () => {
    setup = await startInterception({ limits: { drainTimeoutMs: DRAIN_MS, headerTimeoutMs: 1_000 }, network: { idleTimeoutMs: 2 * DRAIN_MS } });
    const { proxy } = setup;
    const session = await sessionHeard(setup, 'GET /never HTTP/1.1\r\nHo');
    const answered = exchange(session, '');

    await proxy.server.close();

    const answer = await answered;
    expect(answer.status).toBe(408);
    expect(answer.head).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_HEADER_TIMEOUT(\r\n|$)/i);
    expect(drainEnded(proxy)).toMatchObject({ ended: 'finished', in_flight_cut: 0 });
    expect(drainEnded(proxy)?.['drain_ms']).toBeLessThan(DRAIN_MS / 4);
  });

  it("wrap mode's stop: a session with no request whose head begins while the stop waits for another is served, Connection: close", async () => {
    setup = await startInterception({ limits: { drainTimeoutMs: DRAIN_MS, headerTimeoutMs: 20_000 }, network: { idleTimeoutMs: 2 * DRAIN_MS } });
    const { proxy, plainOrigin } = setup;
    const begun = await RawClient.open(proxy.port);
    begun.write('GE');
    const session = await sessionHeard(setup, '');

    const closing = proxy.server.close({ waitForTunnels: false });
    session.write('GET /late HTTP/1.1\r\nHo');
    // The stop's other work ends once this is answered: the session's half head, sent before, is the proxy's by then.
    begun.write(`T ${plainOrigin.url}/first HTTP/1.1\r\nHost: 127.0.0.1:${String(plainOrigin.port)}\r\n\r\n`);
    expect((await begun.readResponse()).status).toBe(200);

    const answer = await exchange(session, 'st: api.stripe.com\r\n\r\n');
    expect(answer.status).toBe(200);
    expect(answer.head).toMatch(/\r\nConnection: close(\r\n|$)/i);
    await closing;
    expect(drainEnded(proxy)).toMatchObject({ ended: 'finished', in_flight_cut: 0 });
  });
});
