import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { startProxy, type StartedProxy, type StartProxyOptions } from '../../helpers/start-proxy.js';
import { createTestCa } from '../../helpers/test-ca.js';
import { tlsThrough } from '../intercept/tunnel-client.js';

export const ORIGIN_NAME = 'ws.example.test';

/**
 * An HTTPS origin posing as ws.example.test (its own test CA, trusted upstream) behind a proxy that
 * intercepts that name, every name resolving to 127.0.0.1. The test answers its requests and
 * upgrades, and can reset the TCP connection under any of its TLS sockets (a TLS socket cannot
 * send a reset itself): the origin's side of a reset, as a destination's RST mid-stream.
 */
export interface ResettableTlsOrigin {
  readonly proxy: StartedProxy;
  /** "ws.example.test:PORT" */
  readonly target: string;
  /** The origin's CA, for clients that reach it through the proxy without interception. */
  readonly originCaPem: string;
  /** A TLS session through the proxy's interception (a CONNECT to `target`). */
  session(): Promise<TLSSocket>;
  /** Resets the origin's TCP connection under `tls`, one of its sockets. */
  resetUnder(tls: Socket): void;
  close(): Promise<void>;
}

export interface TlsOriginHandlers {
  readonly request?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly upgrade?: (req: IncomingMessage, socket: Socket) => void;
}

/** `limits`: the proxy's, over the test defaults (a short drain_timeout, say). */
export async function startResettableTlsOrigin(handlers: TlsOriginHandlers, limits: StartProxyOptions['limits'] = {}): Promise<ResettableTlsOrigin> {
  const dir = await mkdtemp(join(tmpdir(), 'kzp-reset-tls-'));
  const ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy reset test CA', days: 2, force: false });
  const originCa = await createTestCa([ORIGIN_NAME]);
  const raws = new Set<Socket>();
  const origin = createHttpsServer({ cert: originCa.certPem, key: originCa.keyPem }, (req, res) => {
    if (handlers.request === undefined) res.end('ok');
    else handlers.request(req, res);
  });
  origin.on('connection', (socket: Socket) => {
    raws.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => raws.delete(socket));
  });
  origin.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => undefined);
    handlers.upgrade?.(req, socket);
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const port = (origin.address() as AddressInfo).port;
  const proxy = await startProxy({
    resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
    upstreamCa: [originCa.caPem],
    interceptor: createInterceptor({ ca, intercepts: interceptedHosts([ORIGIN_NAME]) }),
    limits,
  });
  const target = `${ORIGIN_NAME}:${String(port)}`;
  return {
    proxy,
    target,
    originCaPem: originCa.caPem,
    session: () => tlsThrough(proxy.port, target, { ca: ca.certPem, servername: ORIGIN_NAME }),
    resetUnder(tls) {
      // The TCP connection under a TLS socket is the one from the same peer port.
      const raw = [...raws].find((socket) => socket.remotePort === tls.remotePort);
      if (raw === undefined) throw new Error('no TCP connection under that TLS socket');
      raw.resetAndDestroy();
    },
    async close() {
      await proxy.close();
      for (const raw of raws) raw.destroy();
      await new Promise((resolve) => origin.close(resolve));
      await originCa.remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
