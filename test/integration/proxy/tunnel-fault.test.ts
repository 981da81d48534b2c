import { once } from 'node:events';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Interceptor } from '../../../src/contract/interceptor.js';
import { startTcpOrigin, type TcpOrigin } from '../../helpers/origins.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A fault of ours while a tunnel's first flight is judged (here an Interceptor that throws when
 * asked about the host a ClientHello names) costs that tunnel and nothing else: its sockets are
 * closed, its closed line is written, and it no longer counts as open. An open count left behind
 * would hold kaizen_proxy_active_tunnels up and make a graceful close wait its whole deadline.
 */
describe('a fault while judging a tunnel', () => {
  let origin: TcpOrigin;
  let proxy: StartedProxy;
  const interceptor: Interceptor = {
    intercepts: (target) => {
      if (target.host === 'broken.test') throw new Error('an interceptor that breaks its contract');
      return false;
    },
    secureContext: () => Promise.reject(new Error('never asked: nothing is intercepted')),
    caFile: '/nonexistent/ca.pem',
  };

  beforeAll(async () => {
    origin = await startTcpOrigin();
    proxy = await startProxy({ interceptor });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('closes the tunnel, writes its closed line and stops counting it as open', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    const [answer] = (await once(socket, 'data')) as [Buffer];
    expect(answer.toString('latin1')).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
    expect(proxy.server.activeTunnels).toBe(1);

    // The ClientHello names another host than the CONNECT: judging it asks the interceptor, which throws.
    const tls = tlsConnect({ socket, servername: 'broken.test', rejectUnauthorized: false });
    tls.on('error', () => undefined);
    const closed = once(socket, 'close');
    const failed = await proxy.logs.waitFor((line) => line.msg === 'tunnel failed');
    expect(failed).toMatchObject({ level: 'error', err: 'Error', target: `127.0.0.1:${origin.port}` });
    await closed;

    expect(proxy.logs.lines.filter((line) => line.msg === 'closed' && line['target'] === `127.0.0.1:${origin.port}`)).toHaveLength(1);
    expect(proxy.server.activeTunnels).toBe(0);
  });
});
