import { createServer, type Server, type Socket } from 'node:net';
import { listenOn } from '../net/listen-on.js';
import type { Registry } from 'prom-client';
import { answerBytes, type AdminAnswer } from './admin-answer.js';
import { serveAdminConnection, type AdminResponder } from './admin-connection.js';
import type { AdminRequest } from './admin-request-head.js';
import { createKeyedRateGate } from './keyed-rate-gate.js';
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';

export interface AdminServer {
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  readonly readiness: Readiness;
  readonly registry: Registry;
  readonly logger: Logger;
}

/** Bound on the path written to the log. */
const MAX_LOGGED_PATH = 200;

/**
 * Connections the admin port holds at once; past them node:net closes the new one at once. Each
 * holds a descriptor the proxy port needs (the README lets Kubernetes bind this port beyond the
 * pod): probes and a scraper need a few.
 */
export const ADMIN_MAX_CONNECTIONS = 64;
/** A failed accept (descriptors exhausted) is logged at most this often. */
const ACCEPT_LOG_INTERVAL_MS = 10_000;

const ALLOWED_METHODS = 'GET, HEAD';
const NOT_FOUND: AdminAnswer = { status: 404, type: 'text/plain', body: 'not found: try /healthz, /readyz or /metrics\n' };
const NOT_ALLOWED: AdminAnswer = { status: 405, type: 'text/plain', body: 'method not allowed\n', allow: ALLOWED_METHODS };
const FAILED: AdminAnswer = { status: 500, type: 'text/plain', body: 'internal error\n' };
const BAD_REQUEST: AdminAnswer = { status: 400, type: 'text/plain', body: 'bad request\n' };
const HEAD_TOO_LARGE: AdminAnswer = { status: 431, type: 'text/plain', body: 'request header fields too large\n' };

/**
 * The admin listener, apart from the proxy port: `GET /healthz` (the process answers), `GET /readyz`
 * (200 while listening and not draining, 503 otherwise; the body reports control plane and policy
 * sync), `GET /metrics` (Prometheus text). Nothing else; it never proxies.
 *
 * Built on node:net with its own request reading (admin-connection.ts) rather than node:http, whose
 * parser makes a request and a response object for every head of a read before any handler runs:
 * 1,700 per 64 KiB read of pipelined `GET /metrics`, about 5 MB a connection that no bound in the
 * 'request' event could stop.
 */
export function createAdminServer(options: AdminServerOptions): AdminServer {
  const responder: AdminResponder = {
    async answer(request) {
      const head = request.method === 'HEAD';
      try {
        return answerBytes(await route(options, request), head, request.close);
      } catch (error: unknown) {
        // The path only: a query string never reaches the log (nor the request: see admin-request-head.ts).
        options.logger.warn({ err: error instanceof Error ? error.name : 'unknown', path: request.path.slice(0, MAX_LOGGED_PATH) }, 'admin request failed');
        return answerBytes(FAILED, head, request.close);
      }
    },
    refuse(status) {
      return answerBytes(status === 431 ? HEAD_TOO_LARGE : BAD_REQUEST, false, true);
    },
  };
  const sockets = new Set<Socket>();
  // Half-open allowed: a client that sends its requests and then its FIN still gets their answers.
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveAdminConnection(socket, responder);
  });
  server.maxConnections = ADMIN_MAX_CONNECTIONS;
  // An accept that failed (no descriptor left) is reported as the server's 'error': logged, never
  // an unhandled 'error' that would end the process. Listen errors are listenOn's.
  const acceptLog = createKeyedRateGate(ACCEPT_LOG_INTERVAL_MS, 8, () => performance.now());
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.syscall !== 'accept') return;
    const code = error.code ?? 'unknown';
    const gate = acceptLog.pass(code);
    if (gate.open) options.logger.warn({ err: code, syscall: 'accept', suppressed: gate.suppressed }, 'admin accept failed');
  });
  return {
    listen(host, port) {
      return listenOn(server, host, port);
    },
    close() {
      return new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

async function route(options: AdminServerOptions, request: AdminRequest): Promise<AdminAnswer> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return NOT_ALLOWED;
  switch (request.path) {
    case '/healthz':
      return { status: 200, type: 'application/json', body: '{"status":"ok"}\n' };
    case '/readyz': {
      const { readiness } = options;
      return { status: readiness.ready ? 200 : 503, type: 'application/json', body: `${JSON.stringify(readiness.report())}\n` };
    }
    case '/metrics':
      return { status: 200, type: options.registry.contentType, body: await options.registry.metrics() };
    default:
      return NOT_FOUND;
  }
}
