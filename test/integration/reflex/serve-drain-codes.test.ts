import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHoldingOrigin, type HoldingOrigin } from '../../helpers/holding-origin.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { exitOf, type ServeProcess, serveWithDrain } from './cli-process.js';

/**
 * What the closed line of an exchange cut by the drain says, on a real `kaizen-proxy serve` sent
 * real signals: KZP_ERR_SHUTDOWN, the proxy's own doing, never an upstream code (which would blame
 * the destination, and fire upstream-failure alerts on every deploy). A destination that really
 * fails during the drain still logs its own code.
 */

let serve: ServeProcess | undefined;
let holding: HoldingOrigin | undefined;
let origin: Origin | undefined;

afterEach(async () => {
  serve?.child.kill('SIGKILL');
  await holding?.close();
  await origin?.close();
  serve = undefined;
  holding = undefined;
  origin = undefined;
});

/** A raw absolute-form GET through the proxy, on a connection of its own. */
async function get(proxyPort: number, originPort: number, path: string): Promise<RawClient> {
  const client = await RawClient.open(proxyPort);
  client.write(`GET http://127.0.0.1:${String(originPort)}${path} HTTP/1.1\r\nHost: 127.0.0.1:${String(originPort)}\r\n\r\n`);
  return client;
}

/** The closed line of the exchange of `kind` to `port`. */
function closedLine(proxy: ServeProcess, kind: string, port: number): Promise<Record<string, unknown>> {
  return proxy.waitFor((line) => line['msg'] === 'closed' && line['kind'] === kind && line['target'] === `127.0.0.1:${String(port)}`);
}

describe('an exchange cut by the drain logs KZP_ERR_SHUTDOWN', () => {
  it('plain HTTP: a response mid-body and a request still waiting for its answer, at drain_timeout', async () => {
    holding = await startHoldingOrigin();
    serve = await serveWithDrain('500ms');
    const proxy = serve;
    const streaming = await get(proxy.port, holding.port, '/streaming');
    await streaming.readUntil('first chunk;');
    const waiting = await get(proxy.port, holding.port, '/held');
    await holding.held('/held');
    const waitingEnds = howItEnds(waiting.socket);

    proxy.child.kill('SIGTERM');

    const cutMidBody = await proxy.waitFor((line) => line['msg'] === 'closed' && line['status'] === 200);
    expect(cutMidBody).toMatchObject({ kind: 'http', code: 'KZP_ERR_SHUTDOWN' });
    // Nothing was answered: no 502 went out, and none is logged.
    expect(await proxy.waitFor((line) => line['msg'] === 'closed' && line['status'] !== 200)).toMatchObject({ kind: 'http', status: 0, code: 'KZP_ERR_SHUTDOWN' });
    expect(await waitingEnds).toBe('ECONNRESET');
    expect(await waiting.readToEnd()).toBe('');
    expect(await exitOf(proxy)).toBe(0);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'deadline', in_flight_cut: 2 }));
    expect(proxy.lines.filter((line) => typeof line['code'] === 'string' && line['code'].startsWith('KZP_ERR_UPSTREAM'))).toEqual([]);
  });

  it('a CONNECT tunnel open at drain_timeout', async () => {
    holding = await startHoldingOrigin();
    serve = await serveWithDrain('500ms');
    const proxy = serve;
    const authority = `127.0.0.1:${String(holding.port)}`;
    const tunnel = await RawClient.open(proxy.port);
    tunnel.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    expect(await tunnel.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    tunnel.write(`GET /streaming HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    await tunnel.readUntil('first chunk;');

    proxy.child.kill('SIGTERM');

    expect(await closedLine(proxy, 'connect', holding.port)).toMatchObject({ status: 200, code: 'KZP_ERR_SHUTDOWN' });
    expect(await exitOf(proxy)).toBe(0);
  });

  it('a WebSocket upgrade tunnel, cut by a second SIGTERM', async () => {
    origin = await startOrigin();
    serve = await serveWithDrain('30s');
    const proxy = serve;
    const authority = `127.0.0.1:${String(origin.port)}`;
    const client = await RawClient.open(proxy.port);
    client.write(
      `GET http://${authority}/ws HTTP/1.1\r\nHost: ${authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 101 /);
    client.write('ping');
    await client.readUntil('ping');

    proxy.child.kill('SIGTERM');
    await proxy.waitFor((line) => line['msg'] === 'draining');
    proxy.child.kill('SIGTERM');

    expect(await closedLine(proxy, 'upgrade', origin.port)).toMatchObject({ status: 101, code: 'KZP_ERR_SHUTDOWN' });
    expect(await exitOf(proxy)).toBe(143);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'cut', tunnels_cut: 1 }));
  });

  it('a destination that fails during the drain still logs its own code; what the deadline cuts logs KZP_ERR_SHUTDOWN', async () => {
    holding = await startHoldingOrigin();
    serve = await serveWithDrain('1s');
    const proxy = serve;
    const streaming = await get(proxy.port, holding.port, '/streaming');
    await streaming.readUntil('first chunk;');
    const failing = await get(proxy.port, holding.port, '/held');
    const failingRes = await holding.held('/held');

    proxy.child.kill('SIGTERM');
    await proxy.waitFor((line) => line['msg'] === 'draining');
    // The destination resets the connection of the request still waiting for its answer.
    (failingRes.socket as Socket).resetAndDestroy();

    const failed = await failing.readResponse();
    expect(failed.status).toBe(502);
    expect(failed.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_CONNECT');
    expect(await proxy.waitFor((line) => line['msg'] === 'closed' && line['status'] === 502)).toMatchObject({ code: 'KZP_ERR_UPSTREAM_CONNECT' });
    expect(await proxy.waitFor((line) => line['msg'] === 'closed' && line['status'] === 200)).toMatchObject({ code: 'KZP_ERR_SHUTDOWN' });
    expect(await exitOf(proxy)).toBe(0);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'deadline', in_flight_cut: 1 }));
  });
});
