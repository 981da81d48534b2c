import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startHoldingOrigin, type HoldingOrigin } from '../../helpers/holding-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { exitOf, type ServeProcess, serveWithDrain } from './cli-process.js';

/**
 * A request whose head is arriving when SIGTERM comes is in flight, as Squid and Envoy hold what
 * is in flight: the drain waits for it (the listeners closed, idle keep-alive connections closed at
 * once), serves it with `Connection: close`, and ends when it is done, whether or not anything else
 * is left; header_timeout (a 408) and the drain's deadline bound the wait. A connection that has
 * sent nothing is not waited for, as nginx and Envoy close it at once; its request is served only
 * if it comes while the drain waits for something else. On a real `serve`.
 */

let serve: ServeProcess | undefined;
let origin: HoldingOrigin | undefined;

afterEach(async () => {
  serve?.child.kill('SIGKILL');
  await origin?.close();
  serve = undefined;
  origin = undefined;
});

/**
 * Opens the connections of `firstBytes` in order, each sending its bytes, then a keep-alive
 * connection served one whole request after them: once it is answered the proxy has accepted the
 * ones before (a listener accepts in order) and read what they sent. Returns them, and the idle one.
 */
async function connectBefore(proxyPort: number, originPort: number, firstBytes: readonly string[]): Promise<{ readonly clients: RawClient[]; readonly idle: RawClient }> {
  const clients: RawClient[] = [];
  for (const bytes of firstBytes) {
    const client = await RawClient.open(proxyPort);
    if (bytes !== '') client.write(bytes);
    clients.push(client);
  }
  const idle = await RawClient.open(proxyPort);
  idle.write(`GET http://127.0.0.1:${String(originPort)}/first HTTP/1.1\r\nHost: 127.0.0.1:${String(originPort)}\r\n\r\n`);
  expect((await idle.readResponse()).body).toBe('ok');
  return { clients, idle };
}

describe('SIGTERM with a request head half sent', () => {
  it('the head completed after the signal is served, Connection: close, and the drain ends with it; an idle keep-alive connection is closed at once', async () => {
    origin = await startHoldingOrigin();
    serve = await serveWithDrain('20s', 'header_timeout: 20s');
    const proxy = serve;
    const host = `127.0.0.1:${String(origin.port)}`;
    const { clients, idle } = await connectBefore(proxy.port, origin.port, [
      // The fast lane's path: an absolute-form GET, half its head.
      `GET http://${host}/lane HTTP/1.1\r\nHo`,
      // node:http's path: a method the fast lane does not take, half its head.
      `M-SEARCH http://${host}/handed HTTP/1.1\r\nHo`,
      // Accepted before the signal, nothing sent yet.
      '',
    ]);
    const [lane, handed, fresh] = clients as [RawClient, RawClient, RawClient];
    const signalledAt = performance.now();

    proxy.child.kill('SIGTERM');
    const draining = await proxy.waitFor((line) => line['msg'] === 'draining');
    expect(draining['in_flight']).toBe(3);
    // Not in flight: closed at the drain's start, while the heads are still awaited.
    await idle.closed;
    expect(proxy.child.exitCode).toBeNull();
    // Its first bytes while the drain still waits for the heads: served like them.
    fresh.write(`GET http://${host}/fresh HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    expect(await fresh.readResponse()).toMatchObject({ status: 200, body: 'ok' });
    lane.write(`st: ${host}\r\n\r\n`);
    const laneAnswer = await lane.readResponse();
    expect(laneAnswer).toMatchObject({ status: 200, body: 'ok' });
    expect(laneAnswer.headers['connection']).toBe('close');
    handed.write(`st: ${host}\r\n\r\n`);
    const handedAnswer = await handed.readResponse();
    expect(handedAnswer).toMatchObject({ status: 200, body: 'ok' });
    expect(handedAnswer.headers['connection']).toBe('close');
    await Promise.all([lane.closed, handed.closed, fresh.closed]);

    expect(await exitOf(proxy)).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(10_000);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });

  it("on a connection node:http parses (it carried a request with a body), the next head begun before the signal is served too", async () => {
    origin = await startHoldingOrigin();
    serve = await serveWithDrain('20s');
    const proxy = serve;
    const host = `127.0.0.1:${String(origin.port)}`;
    const kept = await RawClient.open(proxy.port);
    // A body: the fast lane hands the connection to node:http for good.
    kept.write(`POST http://${host}/post HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\n\r\nhi`);
    expect(await kept.readResponse()).toMatchObject({ status: 200, body: 'ok' });
    kept.write(`GET http://${host}/next HTTP/1.1\r\nHo`);
    // Served after the half head was sent: the proxy has read it by then.
    await connectBefore(proxy.port, origin.port, []);

    proxy.child.kill('SIGTERM');
    const draining = await proxy.waitFor((line) => line['msg'] === 'draining');
    // The head arriving counts in the line, as the fast lane's do.
    expect(draining['in_flight']).toBe(1);
    expect(proxy.child.exitCode).toBeNull();
    kept.write(`st: ${host}\r\n\r\n`);

    const answer = await kept.readResponse();
    expect(answer).toMatchObject({ status: 200, body: 'ok' });
    expect(answer.headers['connection']).toBe('close');
    expect(await exitOf(proxy)).toBe(0);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });

  it('on a connection node:http parses, a head that never completes is answered 408 at header_timeout, not held to the deadline', async () => {
    origin = await startHoldingOrigin();
    serve = await serveWithDrain('20s', 'header_timeout: 1s');
    const proxy = serve;
    const host = `127.0.0.1:${String(origin.port)}`;
    const kept = await RawClient.open(proxy.port);
    // A body: the fast lane hands the connection to node:http for good.
    kept.write(`POST http://${host}/post HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\n\r\nhi`);
    expect(await kept.readResponse()).toMatchObject({ status: 200, body: 'ok' });
    kept.write(`GET http://${host}/never HTTP/1.1\r\nHo`);
    // Served after the half head was sent: the proxy has read it by then.
    await connectBefore(proxy.port, origin.port, []);
    const signalledAt = performance.now();

    proxy.child.kill('SIGTERM');

    const answer = await kept.readResponse();
    expect(answer.status).toBe(408);
    expect(answer.headers['x-kaizen-error']).toBe('KZP_ERR_HEADER_TIMEOUT');
    expect(await exitOf(proxy)).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(10_000);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });

  it('a head the fast lane handed over, timed and served, does not time the next head begun before the signal: no early 408', async () => {
    origin = await startHoldingOrigin();
    serve = await serveWithDrain('20s', 'header_timeout: 2s');
    const proxy = serve;
    const host = `127.0.0.1:${String(origin.port)}`;
    const kept = await RawClient.open(proxy.port);
    // Half a head the lane cannot take (its method): handed to node:http, timed by the lane from the connection's start.
    kept.write(`M-SEARCH http://${host}/first HTTP/1.1\r\nHo`);
    // A lane head begun now, half sent: its 408 (header_timeout after now) comes with or after the first head's deadline.
    // Served after both half heads were sent: the proxy has read them (and handed the first over) by then.
    const { clients } = await connectBefore(proxy.port, origin.port, [`GET http://${host}/clock HTTP/1.1\r\nHo`]);
    const [clock] = clients as [RawClient];
    kept.write(`st: ${host}\r\n\r\n`);
    expect(await kept.readResponse()).toMatchObject({ status: 200, body: 'ok' });
    // Not a wait for readiness: the next head begins half a header_timeout after the first, so that
    // the first head's deadline (the clock's 408) falls well before the next head's own.
    await delay(1_000);
    // The next head, begun on node:http's connection: timed from its own start (header_timeout), drain or not.
    kept.write(`GET http://${host}/next HTTP/1.1\r\nHo`);
    // Served after the half head was sent: the proxy has read it by then.
    await connectBefore(proxy.port, origin.port, []);

    proxy.child.kill('SIGTERM');
    await proxy.waitFor((line) => line['msg'] === 'draining');
    expect((await clock.readResponse()).status).toBe(408);

    // Nothing answered the next head meanwhile (a 408 would be read first): the first head's deadline is not the next one's.
    kept.write(`st: ${host}\r\n\r\n`);
    const answer = await kept.readResponse();
    expect(answer).toMatchObject({ status: 200, body: 'ok' });
    expect(answer.headers['connection']).toBe('close');
    expect(await exitOf(proxy)).toBe(0);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });

  it('a request answered before its body was all sent, the rest sent after the signal: closed once it is in, and the drain ends then', async () => {
    origin = await startHoldingOrigin();
    serve = await serveWithDrain('20s');
    const proxy = serve;
    const host = `127.0.0.1:${String(origin.port)}`;
    const kept = await RawClient.open(proxy.port);
    // The origin answers at the head, before the body's second half comes: a keep-alive answer.
    kept.write(`POST http://${host}/early HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 10\r\n\r\n12345`);
    const answer = await kept.readResponse();
    expect(answer).toMatchObject({ status: 200, body: 'ok' });
    expect(answer.headers['connection']).toBe('keep-alive');
    const signalledAt = performance.now();

    proxy.child.kill('SIGTERM');
    await proxy.waitFor((line) => line['msg'] === 'draining');
    expect(proxy.child.exitCode).toBeNull();
    kept.write('67890');

    // Nothing of a next request: idle once the body is in, closed as idle connections are.
    await kept.closed;
    expect(await exitOf(proxy)).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(10_000);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });

  it('header_timeout still answers a head that never completes: 408, and the drain ends there', async () => {
    origin = await startHoldingOrigin();
    serve = await serveWithDrain('20s', 'header_timeout: 1s');
    const proxy = serve;
    const host = `127.0.0.1:${String(origin.port)}`;
    const { clients } = await connectBefore(proxy.port, origin.port, [`GET http://${host}/never HTTP/1.1\r\nHo`]);
    const [stalled] = clients as [RawClient];
    const signalledAt = performance.now();

    proxy.child.kill('SIGTERM');

    expect((await stalled.readResponse()).status).toBe(408);
    expect(await exitOf(proxy)).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(10_000);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });

  it('the drain deadline bounds the wait when header_timeout is longer', async () => {
    origin = await startHoldingOrigin();
    serve = await serveWithDrain('700ms', 'header_timeout: 30s');
    const proxy = serve;
    const host = `127.0.0.1:${String(origin.port)}`;
    const { clients } = await connectBefore(proxy.port, origin.port, [`GET http://${host}/never HTTP/1.1\r\nHo`]);
    const [stalled] = clients as [RawClient];
    const signalledAt = performance.now();

    proxy.child.kill('SIGTERM');
    await stalled.closed;

    expect(performance.now() - signalledAt).toBeGreaterThanOrEqual(650);
    expect(await exitOf(proxy)).toBe(0);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'deadline', in_flight_cut: 1 }));
  });

  it('a connection that has sent nothing does not hold the exit: closed with a FIN at once, drain_timeout 20s notwithstanding', async () => {
    origin = await startHoldingOrigin();
    serve = await serveWithDrain('20s', 'header_timeout: 30s');
    const proxy = serve;
    const { clients } = await connectBefore(proxy.port, origin.port, ['']);
    const [silent] = clients as [RawClient];
    const ends = howItEnds(silent.socket);
    const signalledAt = performance.now();

    proxy.child.kill('SIGTERM');

    expect(await exitOf(proxy)).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(5_000);
    expect(await ends).toBe('end');
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
  });
});
