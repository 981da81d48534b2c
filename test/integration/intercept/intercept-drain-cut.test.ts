import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { startInterception, type Interception } from '../../helpers/interception.js';
import { RawClient } from '../../helpers/raw-client.js';
import type { LogLine } from '../../helpers/start-proxy.js';

/**
 * An intercepted session with a request in flight when the drain's deadline cuts it (the test
 * proxy's limits.drain_timeout, 2 s): the request and its session log KZP_ERR_SHUTDOWN, the cut
 * being the proxy's own, never an upstream code blaming the destination.
 */
describe('interception: what the drain cuts', () => {
  let setup: Interception | undefined;

  afterEach(async () => {
    await setup?.close();
    setup = undefined;
  });

  it('an upload still on its way inside a session, and the session, log KZP_ERR_SHUTDOWN', async () => {
    setup = await startInterception();
    const { ca, proxy, target } = setup;
    const tunnel = await RawClient.open(proxy.port);
    tunnel.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    expect(await tunnel.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    tunnel.socket.removeAllListeners('data');
    const session = tlsConnect({ socket: tunnel.socket, servername: 'api.stripe.com', ca: ca.certPem });
    session.on('error', () => undefined);
    await new Promise<void>((resolve) => session.once('secureConnect', resolve));
    // The origin reads the whole body before it answers: 10 of 1,000 bytes keep the request in flight.
    session.write(`POST /sha256 HTTP/1.1\r\nHost: ${target}\r\nContent-Length: 1000\r\n\r\n0123456789`);
    await proxy.logs.waitFor((line: LogLine) => line.msg === 'decision' && line['method'] === 'POST');

    await proxy.close();

    const inner = await proxy.logs.waitFor((line: LogLine) => line.msg === 'closed' && line['kind'] === 'http');
    expect(inner).toMatchObject({ target, status: 0, code: 'KZP_ERR_SHUTDOWN' });
    const outer = await proxy.logs.waitFor((line: LogLine) => line.msg === 'closed' && line['kind'] === 'connect');
    expect(outer).toMatchObject({ target, status: 200, code: 'KZP_ERR_SHUTDOWN' });
    expect(proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'deadline', in_flight_cut: 1 }));
  });
});
