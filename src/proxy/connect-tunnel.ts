import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { connectAction } from '../action/build-action.js';
import { parseAuthority } from '../action/target-parse.js';
import { newTally } from './exchange-log.js';
import { tunnelOpened } from './exchange-events.js';
import { authenticateClient } from './client-auth.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { captureEarlyBytes } from './early-bytes.js';
import { runEstablishedTunnel } from './established-tunnel.js';
import { openTunnel, refuseTunnel, type TunnelReceiver, type TunnelSetup } from './tunnel-open.js';
import { interceptTunnel } from './intercept-tunnel.js';
import type { ConnectView } from './fast-lane.js';
import { refusePinnedConnect } from './pinned-target.js';
import { headArrived } from './handed-head.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

/**
 * CONNECT host:port. The authority is parsed by src/action (400 when malformed), the tunnel is
 * decided, and only on allow is the destination dialled; then `200 Connection established`, the
 * bytes that came with the CONNECT, and a two-way splice. Port 80 is a tunnel like any other.
 *
 * The setup is chained by callbacks (openTunnel), not awaited: an async handler and an async front
 * half cost a tunnel two promises and their frames (bench/paired.mjs, CPU per new tunnel at 50
 * concurrent: 0.975x on Node 24, 0.948x on Node 20; p50 0.98x sequentially). `settled` ends the
 * setup once, whichever way it ends; a throw anywhere in it is logged and closes the client, as a
 * rejected handler did.
 *
 * A tunnel's steps are methods of objects made per tunnel (here, tunnel-open.ts, early-bytes.ts,
 * client-hello-gate.ts, established-tunnel.ts, socket-pipe.ts, src/net/dial.ts, relay-reads.ts),
 * and a callback is such a method bound to its object, not a closure made per tunnel. On Node 24
 * (V8 13.6) a closure's optimized code is kept only while one of its closures lives, so each full
 * collection that ran while no tunnel was being set up (a large transfer, a quiet spell) threw it
 * away and the next few thousand tunnels ran it unoptimized and compiled it again; a method's code
 * lives with its class, and a bound function has none of its own. Measured with
 * `bench/profile.mjs connrate --first connrate,up,connrate,up --node-arg --trace-opt`: after the
 * second 1 GiB upload, 47 functions were compiled again with closures, 15 now (those deoptimized
 * by the upload's byte counts); with closures, `perf record` put 7-11% of the proxy's CPU in the
 * compiler in the 5,000 tunnels after an upload, against 0-1% after 5,000 more tunnels. Paired against closures
 * (bench/paired.mjs --mode conc, CPU per new tunnel): with a 256 MiB upload before each round
 * 0.971x (medians 139 against 157 µs) on Node 24; without, 0.986x on Node 24 and 0.965x on Node 20.
 */
export function createConnectHandler(proxy: ProxyContext): (req: ConnectView, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    if (!(socket instanceof Socket)) {
      socket.destroy();
      return;
    }
    const tunnel = new ConnectTunnel(proxy, socket, head);
    try {
      tunnel.handle(req);
    } catch (error) {
      tunnel.failed(error);
    }
  };
}

/**
 * node:http's 'connect' listener: `onConnect` (createConnectHandler) for a CONNECT in HTTP/1.1 or
 * 1.0. llhttp refuses other versions for other methods, but lets a CONNECT through with no version
 * at all (HTTP/0.9: `CONNECT host:port` and the CRLF) and as HTTP/2.0; neither is a request to
 * tunnel: 400 KZP_ERR_BAD_REQUEST, as request-framing.ts refuses plain requests in such versions,
 * before any dial. The fast lane takes only 1.1 and 1.0 CONNECTs (src/net/http1-request-head.ts)
 * and calls `onConnect` itself, so the tunnels it opens skip this check.
 */
export function createVersionCheckedConnect(
  proxy: ProxyContext,
  onConnect: (req: ConnectView, socket: Duplex, head: Buffer) => void,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    // A head the fast lane handed over is in: the CONNECT is in flight from here (handed-head.ts).
    if (socket instanceof Socket) headArrived(proxy.registry.get(socket), proxy.lifecycle);
    const version = req.httpVersion;
    if (version === '1.1' || version === '1.0' || !(socket instanceof Socket)) {
      onConnect(req, socket, head);
      return;
    }
    const tunnel = new ConnectTunnel(proxy, socket, head);
    try {
      tunnel.refuse(req, 'HTTP version not supported');
    } catch (error) {
      tunnel.failed(error);
    }
  };
}

/** One CONNECT, from its request to its 200 (or refusal): what runEstablishedTunnel gets next. */
class ConnectTunnel implements TunnelReceiver {
  readonly #base: ProxyContext;
  readonly #client: Socket;
  readonly #head: Buffer;
  #done = false;
  /** Set once the request is parsed and the front half starts (openTunnel). */
  #setup: TunnelSetup | null = null;

  constructor(base: ProxyContext, client: Socket, head: Buffer) {
    this.#base = base;
    this.#client = client;
    this.#head = head;
    base.lifecycle.begin();
  }

  handle(req: ConnectView): void {
    const client = this.#client;
    // A CONNECT inside an intercepted session (its decrypted socket): refused, never dialled. An
    // ordinary CONNECT pays one property read without interception, one WeakMap lookup with it.
    // node:http's 'connect' is the way in; the fast lane never holds a decrypted socket
    // (connection-limits.ts hands those to node:http), but it calls this same handler.
    const pinned = this.#base.interception?.pinned(client);
    if (pinned !== undefined) {
      refusePinnedConnect(pinned, client, req.url);
      this.#settled();
      return;
    }
    const auth = authenticateClient(this.#base, req.headers['proxy-authorization']);
    const proxy = auth.proxy;
    const conn = proxy.registry.get(client);
    const tally = newTally('connect', performance.now());
    if (!auth.ok) {
      refuseTunnel(proxy, conn, client, tally, auth.refusal);
      this.#settled();
      return;
    }
    const parsed = parseAuthority(req.url ?? '');
    if (!parsed.ok) {
      refuseTunnel(proxy, conn, client, tally, errorRefusal(parsed.code, { message: parsed.message }));
      this.#settled();
      return;
    }
    const target = parsed.value;
    tally.target = target.authority;
    const action = connectAction(target, proxy.labels.tunnel(target));
    tally.action = action;
    // Intercepted hosts are terminated here, not tunnelled: their requests are decided one by one.
    if (proxy.interception?.interceptor.intercepts(target) === true) {
      interceptTunnel(proxy, proxy.interception, conn, client, this.#head, target, action, tally).then(
        () => {
          this.#settled();
        },
        (error: unknown) => {
          this.failed(error);
        },
      );
      return;
    }
    const setup: TunnelSetup = { proxy, conn, client, target, action, tally, early: captureEarlyBytes(client), relayable: true };
    this.#setup = setup;
    openTunnel(setup, this);
  }

  /** A CONNECT not to tunnel at all (`message` says why): 400 and a close, whether or not the client authenticated. */
  refuse(req: ConnectView, message: string): void {
    const client = this.#client;
    // The identity only names whose exchange this was in the closed line, as for a plain request's framing refusal.
    const proxy = authenticateClient(this.#base, req.headers['proxy-authorization']).proxy;
    refuseTunnel(proxy, proxy.registry.get(client), client, newTally('connect', performance.now()), errorRefusal('KZP_ERR_BAD_REQUEST', { message }));
    this.#settled();
  }

  opened(upstream: Socket | null): void {
    const setup = this.#setup;
    if (upstream === null || setup === null) {
      this.#settled();
      return;
    }
    const { proxy, conn, client, target, tally, early } = setup;
    tally.status = 200;
    client.write(ESTABLISHED);
    // The open-tunnel count follows the answer, off the client's wait for it.
    tunnelOpened(proxy, tally);
    // The first-flight gate listens to the client in this same turn (runEstablishedTunnel).
    const released = early.release(true);
    // Nothing from the client crosses until its first bytes are judged: a ClientHello's SNI must name the CONNECT host.
    runEstablishedTunnel(proxy, conn, { client, upstream }, target, { chunks: [this.#head, ...released.chunks], ended: released.ended }, tally);
    this.#settled();
  }

  failed(error: unknown): void {
    this.#base.logger.error({ err: error instanceof Error ? error.name : 'unknown' }, 'tunnel failed');
    this.#client.destroy();
    this.#settled();
  }

  #settled(): void {
    if (this.#done) return;
    this.#done = true;
    this.#base.lifecycle.end();
  }
}
