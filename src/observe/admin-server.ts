import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listenOn } from '../net/listen-on.js';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';
import { boundUnanswered } from './unanswered-requests.js';

export interface AdminServer {
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  readonly readiness: Readiness;
  readonly registry: Registry;
  readonly logger: Logger;
}

/**
 * The admin listener, apart from the proxy port: `GET /healthz` (the process answers), `GET /readyz`
 * (200 while listening and not draining, 503 otherwise; the body reports control plane and policy
 * sync), `GET /metrics` (Prometheus text). Nothing else; it never proxies.
 */
/** Bound on the path written to the log. */
const MAX_LOGGED_PATH = 200;

/**
 * Connections the admin port holds at once; past them node:http closes the new one at once. Each
 * holds a descriptor the proxy port needs (the README lets Kubernetes bind this port beyond the
 * pod): probes and a scraper need a few.
 */
export const ADMIN_MAX_CONNECTIONS = 64;
/** A request's head and whole request: probes and scrapes are small. */
const ADMIN_REQUEST_TIMEOUT_MS = 5_000;
/** An idle admin connection (none, or between requests) is closed after this. */
const ADMIN_IDLE_TIMEOUT_MS = 2_000;
/**
 * Requests one admin connection may have unanswered (pipelined) at once; one more closes it.
 * Probes and scrapers send one and wait for its answer.
 */
export const ADMIN_MAX_UNANSWERED = 4;

export function createAdminServer(options: AdminServerOptions): AdminServer {
  const admit = boundUnanswered(ADMIN_MAX_UNANSWERED);
  const server: Server = createServer(
    {
      headersTimeout: ADMIN_REQUEST_TIMEOUT_MS,
      requestTimeout: ADMIN_REQUEST_TIMEOUT_MS,
      keepAliveTimeout: ADMIN_IDLE_TIMEOUT_MS,
      // node:http checks the two deadlines above this often (30 s by default).
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      if (!admit(req, res)) return;
      const path = pathOf(req.url);
      answer(options, req, res, path).catch((error: unknown) => {
        // The path only: a query string never reaches the log.
        options.logger.warn({ err: error instanceof Error ? error.name : 'unknown', path: path.slice(0, MAX_LOGGED_PATH) }, 'admin request failed');
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
        else res.destroy();
      });
    },
  );
  server.maxConnections = ADMIN_MAX_CONNECTIONS;
  // A connection that sends nothing at all (no head for headersTimeout to time) is closed too.
  server.timeout = ADMIN_IDLE_TIMEOUT_MS;
  server.on('timeout', (socket: Socket) => {
    socket.destroy();
  });
  server.on('clientError', (_error, socket) => {
    socket.destroy();
  });
  return {
    listen(host, port) {
      return listenOn(server, host, port);
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}

/** The request target without its query. */
function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?')[0] ?? '/';
}

async function answer(options: AdminServerOptions, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain', 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz':
      send(res, 200, 'application/json', '{"status":"ok"}\n');
      return;
    case '/readyz': {
      const { readiness } = options;
      send(res, readiness.ready ? 200 : 503, 'application/json', `${JSON.stringify(readiness.report())}\n`);
      return;
    }
    case '/metrics':
      send(res, 200, options.registry.contentType, await options.registry.metrics());
      return;
    default:
      send(res, 404, 'text/plain', 'not found: try /healthz, /readyz or /metrics\n');
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
