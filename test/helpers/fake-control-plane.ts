/**
 * A fake Kaizen control plane for tests: a REAL node:http server on 127.0.0.1:0 that records every
 * request and answers as told, so clients are exercised over real loopback sockets.
 *
 *   const cp = await startFakeControlPlane();          // answers `allow` until told otherwise
 *   cp.respondWith(reply.status(500), reply.allow());  // a sequence: request n takes reply n, the last repeats
 *   cp.respondWith(reply.slow(2000, reply.allow()));   // slow, reset, resetMidBody, garbage, truncated, blank, 401, 429 + Retry-After...
 *   await cp.waitForRequests(1);                       // readiness without sleeps (fire-and-forget reports)
 *   cp.requests[0]?.headers.authorization; cp.requests[0]?.body;   // everything the client sent
 *   cp.routeWith('/v1/policy', reply.policies([...], '"v1"'), reply.notModified());  // a sequence of its own for one path
 *   cp.routeWith('/v1/policy?agent=ci-bot', reply.policies([...]));                 // ...or for one path and query exactly
 *   await cp.waitForRequest((request) => request.path === '/v1/policy?agent=ci-bot'); // the first (or next) request that matches
 *   await cp.close();
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly path: string;
  /** Every header as received, Authorization included. */
  readonly headers: IncomingHttpHeaders;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly body: unknown;
  readonly rawBody: string;
  /** The reply this request was given (a slow reply's eventual answer is in its `then`). */
  readonly reply: FakeReply;
  /** performance.now() when the whole request had arrived: the spacing of retries and replays. */
  readonly at: number;
}

export type FakeReply =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: 'text'; readonly status: number; readonly body: string; readonly headers?: Readonly<Record<string, string>> }
  /** Status and a Content-Length of 200, then 20 bytes of JSON, then the socket closes. */
  | { readonly kind: 'truncated' }
  /** The socket is reset (RST) without any answer. */
  | { readonly kind: 'reset' }
  /** Status, headers and part of the body, then (20 ms later, once the client has read them) a reset (RST). */
  | { readonly kind: 'resetMidBody' }
  /** Never answers (until close). */
  | { readonly kind: 'hang' }
  | { readonly kind: 'slow'; readonly delayMs: number; readonly then: FakeReply }
  /** Status and headers, no body (304 Not Modified). */
  | { readonly kind: 'head'; readonly status: number; readonly headers?: Readonly<Record<string, string>> };

const RESET_MID_BODY_DELAY_MS = 20;

let verdictIds = 0;
const nextId = (): string => `fake-verdict-${++verdictIds}`;

/** Reply builders for `respondWith`. Verdict replies carry an id unless `extra` overrides it. */
export const reply = {
  decision: (decision: string, extra: Record<string, unknown> = {}): FakeReply => ({
    kind: 'json',
    status: 200,
    body: { id: nextId(), decision, reason: `fake control plane says ${decision}`, evidence: [], confidence: null, ...extra },
  }),
  allow: (extra: Record<string, unknown> = {}): FakeReply => reply.decision('allow', extra),
  block: (extra: Record<string, unknown> = {}): FakeReply =>
    reply.decision('block', { evidence: [{ kind: 'baseline', value: 'never seen', source: 'fake' }], ...extra }),
  anomaly: (extra: Record<string, unknown> = {}): FakeReply => reply.decision('anomaly', extra),
  /** `{ verdict: { decision, ... } }`, as a control plane echoing the stored verdict would answer. */
  wrapped: (decision: string, extra: Record<string, unknown> = {}): FakeReply => ({
    kind: 'json',
    status: 200,
    body: { id: nextId(), verdict: { decision, reason: `fake control plane (wrapped) says ${decision}`, evidence: [], ...extra } },
  }),
  /** `{}`: recorded, no opinion. */
  empty: (): FakeReply => ({ kind: 'json', status: 200, body: {} }),
  /** `{"id": ...}`: recorded, no opinion. */
  recorded: (id = nextId()): FakeReply => ({ kind: 'json', status: 200, body: { id } }),
  /** A status with an empty (or, given `body`, whitespace-only) body and a Content-Length: recorded, no opinion. */
  blank: (status: number, body = ''): FakeReply => ({ kind: 'text', status, body }),
  json: (status: number, body: unknown, headers?: Record<string, string>): FakeReply =>
    headers === undefined ? { kind: 'json', status, body } : { kind: 'json', status, body, headers },
  status: (status: number, headers?: Record<string, string>): FakeReply => reply.json(status, { error: `fake status ${status}` }, headers),
  /** 429 with `Retry-After` (seconds or an HTTP-date), or without it when omitted. */
  tooMany: (retryAfter?: string): FakeReply => reply.status(429, retryAfter === undefined ? undefined : { 'retry-after': retryAfter }),
  unauthorized: (): FakeReply => reply.status(401),
  forbidden: (): FakeReply => reply.status(403),
  garbage: (): FakeReply => ({ kind: 'text', status: 200, body: '<html>not a verdict', headers: { 'content-type': 'application/json' } }),
  truncated: (): FakeReply => ({ kind: 'truncated' }),
  reset: (): FakeReply => ({ kind: 'reset' }),
  resetMidBody: (): FakeReply => ({ kind: 'resetMidBody' }),
  hang: (): FakeReply => ({ kind: 'hang' }),
  slow: (delayMs: number, then: FakeReply = reply.allow()): FakeReply => ({ kind: 'slow', delayMs, then }),
  /** The answer to `GET /v1/policy`, with an ETag when given. */
  policies: (policies: readonly unknown[], etag?: string): FakeReply => reply.json(200, { policies }, etag === undefined ? undefined : { etag }),
  notModified: (): FakeReply => ({ kind: 'head', status: 304 }),
} as const;

export interface FakeControlPlane {
  /** Base URL to give the proxy, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  /** Every request received, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  readonly connections: number;
  /** Replies for the next requests, in order; the last one repeats. Resets the sequence. */
  respondWith(...replies: readonly FakeReply[]): void;
  /** Resolves once at least `count` requests have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the first request received (already or still to come) that matches; rejects after `timeoutMs`. */
  waitForRequest(matches: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /**
   * Replies for requests to `path`, in order, the last repeating; other paths keep the main sequence.
   * A `path` with a query matches that path and query exactly and goes before the path's own route.
   */
  routeWith(path: string, ...replies: readonly FakeReply[]): void;
  /** Clears the recorded requests (the reply sequence is kept). */
  resetRequests(): void;
  close(): Promise<void>;
}

export async function startFakeControlPlane(): Promise<FakeControlPlane> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  let replies: readonly FakeReply[] = [reply.allow()];
  let served = 0;
  let connections = 0;
  const routes = new Map<string, { replies: readonly FakeReply[]; served: number }>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const route = routes.get(req.url ?? '') ?? routes.get((req.url ?? '').split('?')[0] ?? '');
      let next: FakeReply;
      if (route !== undefined) {
        next = route.replies[Math.min(route.served, route.replies.length - 1)] ?? reply.allow();
        route.served += 1;
      } else {
        next = replies[Math.min(served, replies.length - 1)] ?? reply.allow();
        served += 1;
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: parseJson(rawBody), rawBody, reply: next, at: performance.now() });
      for (const wake of waiters) wake();
      answer(req, res, next);
    });
  });
  server.on('connection', (socket) => {
    connections += 1;
    socket.on('error', () => undefined);
  });

  function answer(req: IncomingMessage, res: ServerResponse, next: FakeReply): void {
    switch (next.kind) {
      case 'json':
      case 'text': {
        const text = next.kind === 'json' ? JSON.stringify(next.body) : next.body;
        res.writeHead(next.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...next.headers });
        res.end(text);
        return;
      }
      case 'truncated':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 200 });
        res.write('{"decision":"allow",', () => req.socket.destroy());
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'resetMidBody':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 200 });
        // The reset waits a little: an RST right behind the bytes can make the client's kernel drop
        // them unread, which would be a reset before the answer instead.
        res.write('{"decision":"allow","reason":', () => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            req.socket.resetAndDestroy();
          }, RESET_MID_BODY_DELAY_MS);
          timers.add(timer);
        });
        return;
      case 'hang':
        return;
      case 'head':
        res.writeHead(next.status, { ...next.headers });
        res.end();
        return;
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!req.socket.destroyed) answer(req, res, next.then);
        }, next.delayMs);
        timers.add(timer);
        return;
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address: AddressInfo | string | null = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake control plane: no TCP address');
  const { port } = address;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    respondWith(...next) {
      replies = next.length === 0 ? [reply.allow()] : next;
      served = 0;
    },
    waitForRequests(count, timeoutMs = 5000) {
      if (requests.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake control plane: ${requests.length} of ${count} requests after ${timeoutMs}ms`));
        }, timeoutMs);
        const check = (): void => {
          if (requests.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    waitForRequest(matches, timeoutMs = 5000) {
      const found = requests.find(matches);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<RecordedRequest>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake control plane: no matching request after ${timeoutMs}ms`));
        }, timeoutMs);
        const check = (): void => {
          const match = requests.find(matches);
          if (match === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(match);
        };
        waiters.add(check);
      });
    },
    routeWith(path, ...next) {
      routes.set(path, { replies: next.length === 0 ? [reply.allow()] : next, served: 0 });
    },
    resetRequests() {
      requests.length = 0;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
