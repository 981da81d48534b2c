import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startHoldingOrigin, type HoldingOrigin } from '../../helpers/holding-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { exitOf, type ServeProcess, startServe, tempDir, writeFile } from '../reflex/cli-process.js';

/**
 * SIGTERM on a `serve` with a transparent listener: a redirected connection accepted before the
 * signal whose first flight (a request head, a ClientHello) has begun but not all come is in
 * flight for the drain, as a connection on the proxy port is (README, Admin and readiness): the
 * drain waits for it, and its request is served with `Connection: close`. One that has sent
 * nothing is not waited for: closed at once, as on the proxy port.
 */

let serve: ServeProcess | undefined;
let origin: HoldingOrigin | undefined;

afterEach(async () => {
  serve?.child.kill('SIGKILL');
  await origin?.close();
  serve = undefined;
  origin = undefined;
});

/** A serve with a transparent listener, and a connection to it accepted (its `before` bytes read) before a request on another was answered. */
async function waitingOnTransparent(before: string): Promise<{ readonly proxy: ServeProcess; readonly waiting: RawClient; readonly host: string }> {
  const started = await startHoldingOrigin();
  origin = started;
  const config = writeFile(tempDir(), 'drain.yaml', 'limits: { drain_timeout: 20s, header_timeout: 30s }\n');
  const proxy = await startServe(['--config', config, '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '127.0.0.0/8', '--transparent', '127.0.0.1:0']);
  serve = proxy;
  const listening = await proxy.waitFor((line) => line['msg'] === 'listening');
  const port = Number(String(listening['transparent']).split(':').pop());
  const host = `127.0.0.1:${String(started.port)}`;
  const waiting = await RawClient.open(port);
  if (before !== '') waiting.write(before);
  // Served after `waiting` was accepted (one listener accepts in order) and its bytes were read.
  const other = await RawClient.open(port);
  other.write(`GET /first HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  expect(await other.readResponse()).toMatchObject({ status: 200, body: 'ok' });
  return { proxy, waiting, host };
}

describe('SIGTERM with a redirected connection whose first flight is still to come', () => {
  it('half its request line sent: the request completed after the signal is served, and the drain ends with it', async () => {
    const { proxy, waiting, host } = await waitingOnTransparent('GE');

    proxy.child.kill('SIGTERM');
    const draining = await proxy.waitFor((line) => line['msg'] === 'draining');
    expect(draining['in_flight']).toBe(1);
    waiting.write(`T /late HTTP/1.1\r\nHost: ${host}\r\n\r\n`);

    const answer = await waiting.readResponse();
    expect(answer).toMatchObject({ status: 200, body: 'ok' });
    expect(answer.headers['connection']).toBe('close');
    expect(await exitOf(proxy)).toBe(0);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });

  it('nothing sent yet: not waited for, closed with a FIN at once, drain_timeout 20s notwithstanding', async () => {
    const { proxy, waiting } = await waitingOnTransparent('');
    const ends = howItEnds(waiting.socket);
    const signalledAt = performance.now();

    proxy.child.kill('SIGTERM');

    expect(await exitOf(proxy)).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(5_000);
    expect(await ends).toBe('end');
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });
});
