import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { httpAction } from '../action/build-action.js';
import { methodOverride } from '../action/method-override.js';
import { parseAuthority } from '../action/target-parse.js';
import type { Action } from '../contract/action.js';
import type { Target } from '../contract/target.js';
import { watchBody } from './body-fault.js';
import { authenticateRequest, requestSplit, splitRefusal } from './pinned-target.js';
import type { ConnectionContext } from './connection-registry.js';
import { decideEagerly } from './decide-action.js';
import { refuseOnResponse } from './deny-response.js';
import { reportClosed } from './exchange-events.js';
import { newTally, type ExchangeTally } from './exchange-log.js';
import type { RequestView, ResponseView } from './exchange-views.js';
import { unmetExpectation } from './expectation.js';
import { answerLastHop, isLastHop } from './max-forwards.js';
import { framingProblem } from './request-framing.js';
import { RequestPipeline } from './request-pipeline.js';
import type { ProxyContext } from './proxy-context.js';
import { decisionRefusal, errorRefusal, type Refusal } from './refusal.js';
import type { SplitTarget } from './request-target.js';
import { headArrived } from './handed-head.js';
import { dispatchUpstream } from './upstream-dispatch.js';

type Split = Extract<SplitTarget, { ok: true }>;

const EXPECTATION_REFUSAL = errorRefusal('KZP_ERR_EXPECTATION');

/**
 * Plain HTTP through the proxy (absolute-form `http://` and `https://`): every request is its own
 * action, decided on its own and routed to its own destination, even on a keep-alive connection
 * that alternates hosts. This is node:http's entry; the fast lane (fast-lane.ts) enters at
 * handleExchange with a head it parsed itself.
 */
export function createRequestHandler(proxy: ProxyContext): (req: IncomingMessage, res: ServerResponse) => void {
  const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
    handleExchange(proxy, req, req, res);
  };
  return (req, res) => {
    // While the request waits on its destination, the destination's timeouts answer it (504); the
    // client socket's idle timer would race them and cut the client off without an answer. Node
    // arms the keep-alive timer again once the response is written.
    req.socket.setTimeout(0);
    // A client that resets mid-body surfaces through 'close'; the error itself needs no handling.
    req.on('error', ignore);
    res.on('error', ignore);
    const conn = proxy.registry.get(req.socket);
    headArrived(conn, proxy.lifecycle);
    // Behind an answer that closes the connection (closing-response.ts): never relayed, its body
    // discarded; node:http never writes its response.
    if (conn.closing) {
      req.resume();
      return;
    }
    // A request parsed while an earlier one is unfinished is pipelined: bounded per connection.
    if (conn.busy === 0 && conn.pipeline === null) handleExchange(proxy, req, req, res);
    else (conn.pipeline ??= new RequestPipeline(req.socket, conn, dispatch)).add(req, res);
  };
}

/** One request: `body` is its unread body stream (node:http's request), null when it has none. */
export function handleExchange(base: ProxyContext, req: RequestView, body: IncomingMessage | null, res: ResponseView): void {
  const auth = authenticateRequest(base, req);
  const proxy = auth.proxy;
  const conn = proxy.registry.get(req.socket);
  const tally = newTally('http', performance.now());
  conn.busy++;
  proxy.lifecycle.begin();
  res.once('close', () => {
    conn.busy--;
    // Nothing was answered (the client went away first, or it was abandoned behind an answer
    // that closed the connection): status 0.
    if (conn.pipeline?.cancelled(res) === true) tally.status = 0;
    else if (tally.status === 0 && res.headersSent) tally.status = res.statusCode;
    reportClosed(proxy, conn, tally, res.writableFinished);
    proxy.lifecycle.end();
    conn.pipeline?.closed(res);
  });

  // Framing Node lets through but the next hop could read differently (smuggling): refused,
  // connection closed. The fast lane takes only HTTP/1.1 heads without body framing (body null).
  const framing = body === null ? null : framingProblem(req);
  if (framing !== null) {
    tally.code = 'KZP_ERR_BAD_REQUEST';
    tally.status = refuseOnResponse(body, res, errorRefusal('KZP_ERR_BAD_REQUEST', { message: framing }), true, proxy.lingerMs);
    return;
  }
  if (!auth.ok) {
    // Inside a session, the session is over: its closed line names where it was pinned.
    tally.target = auth.session;
    refuse(proxy, body, res, tally, auth.refusal, auth.session !== null);
    return;
  }
  const split = requestSplit(proxy, req, conn);
  if (!split.ok) {
    refuse(proxy, body, res, tally, splitRefusal(split, tally));
    return;
  }
  const parsed = parseAuthority(split.authority);
  if (!parsed.ok) {
    refuse(proxy, body, res, tally, errorRefusal(parsed.code, { message: parsed.message }));
    return;
  }
  const target = parsed.value;
  tally.target = target.authority;
  // A malformed body while the request is decided: answered 400, never forwarded.
  if (body !== null) {
    watchBody(conn, body, (error) => {
      if (res.headersSent || res.destroyed) return false;
      refuse(proxy, body, res, tally, errorRefusal(error.code, { message: error.message }), true);
      return true;
    });
  }
  // An expectation no hop here can meet: answered before any decision, the destination never asked.
  if (unmetExpectation(req)) {
    refuse(proxy, body, res, tally, EXPECTATION_REFUSAL);
    return;
  }
  const method = req.method ?? 'GET';
  // The method an origin honouring X-HTTP-Method-Override (and kin) executes: the action's own.
  const override = methodOverride(req.rawHeaders, split.path);
  if (!override.ok) {
    refuse(proxy, body, res, tally, errorRefusal('KZP_ERR_BAD_REQUEST', { message: override.message }));
    return;
  }
  const labels = proxy.labels.request(target, method, split.pathOnly, override.method);
  if (!labels.ok) {
    refuse(proxy, body, res, tally, errorRefusal('KZP_ERR_BAD_REQUEST', { message: labels.message }));
    return;
  }
  const action = httpAction(target, { method: override.method ?? method, path: split.pathOnly, scheme: split.scheme }, labels.extra);
  tally.action = action;
  decideThenForward(proxy, conn, req, body, res, target, split, action, tally).catch((error: unknown) => {
    conn.log.error({ err: error instanceof Error ? error.name : 'unknown', target: target.authority }, 'exchange failed');
    res.destroy();
  });
}

async function decideThenForward(
  proxy: ProxyContext,
  conn: ConnectionContext,
  req: RequestView,
  body: IncomingMessage | null,
  res: ResponseView,
  target: Target,
  split: Split,
  action: Action,
  tally: ExchangeTally,
): Promise<void> {
  const eager = decideEagerly(proxy, conn, action, target);
  const { decision, ...known } = eager instanceof Promise ? await eager : eager;
  // Answered while it was decided (a malformed body: body-fault.ts).
  if (answered(res)) return;
  if (decision.enforce === 'refuse') {
    refuse(proxy, body, res, tally, decisionRefusal(decision, { agent: proxy.agent, target: action.target }));
    return;
  }
  // A TRACE or OPTIONS with Max-Forwards: 0 ends here, the destination not dialled (RFC 9110 §7.6.2).
  const method = req.method ?? 'GET';
  if (isLastHop(method, req.rawHeaders)) {
    tally.status = answerLastHop(method, body, res, proxy.lifecycle.draining, proxy.lingerMs);
    return;
  }
  const resolved = known.resolved ?? (await known.resolution);
  if (res.destroyed || answered(res)) return;
  if (!resolved.ok) {
    refuse(proxy, body, res, tally, errorRefusal(resolved.code, { target: target.authority }));
    return;
  }
  // Straight to the checked addresses on our own client, or through the configured upstream proxy.
  const via = proxy.connector.upstreamFor(split.scheme === 'https' ? 'tunnel' : 'http', target.host, target.port);
  dispatchUpstream(proxy, req, body, res, target, split, resolved.addresses, via, tally);
}

/** `close`: the connection ends after this answer even when the proxy is not closing. */
function refuse(proxy: ProxyContext, body: IncomingMessage | null, res: ResponseView, tally: ExchangeTally, refusal: Refusal, close = false): void {
  tally.code = refusal.code;
  tally.status = refuseOnResponse(body, res, refusal, close || proxy.lifecycle.draining, proxy.lingerMs);
}

/** The proxy answered while the exchange awaited (body-fault.ts): read afresh after each await. */
function answered(res: ResponseView): boolean {
  return res.headersSent;
}

function ignore(): void {
  // See the call sites: the exchange settles through 'close'.
}
