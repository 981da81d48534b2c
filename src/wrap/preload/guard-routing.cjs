/*
 * Makes global-agent's per-request routing decision safe for IPv6 literal hosts (part of the
 * preload, bundled with it).
 *
 * global-agent rebuilds each request's URL as protocol//hostname:port/path. Node hands it the
 * hostname of `http://[::1]:8080/` without brackets, so the URL is `http://::1:8080/`, and with
 * NO_PROXY set (always, in wrap mode) its NO_PROXY match calls `new URL()` on it, which throws a
 * TypeError synchronously out of http.request. The same string would be the absolute-form target
 * of a proxied http:// request.
 *
 * guardRouting(agent) wraps one of global-agent's agents:
 * - for a request to an IPv6 literal, the decision sees the URL with the host in brackets, and a
 *   proxied http:// request goes with that URL as its target;
 * - an exception from the decision never reaches the child's request: the request goes through
 *   the proxy, which decides (towards enforcement, never around it);
 * - a request whose head node:http wrote when it was built, before the agent saw it (one with an
 *   `Expect` header, such as the AWS SDK's `Expect: 100-continue` uploads, or with its headers
 *   given as an array), gets its request line restated with the absolute-form target
 *   global-agent set: otherwise the head still carried the origin-form path, and the proxy
 *   refused the request (400 KZP_ERR_ORIGIN_FORM) where a direct one succeeded.
 */
'use strict';

const net = require('node:net');

/** While global-agent decides a request to an IPv6 literal: that request's URL with the host bracketed. */
let pending = null;

function guardRouting(agent) {
  if (agent === null || typeof agent !== 'object') return;
  const decide = agent.mustUrlUseProxy;
  const addRequest = agent.addRequest;
  if (typeof decide !== 'function' || typeof addRequest !== 'function') return;

  agent.mustUrlUseProxy = function mustUrlUseProxy(url) {
    try {
      return decide.call(this, pending === null ? url : pending);
    } catch {
      return true;
    }
  };

  agent.addRequest = function guardedAddRequest(request, configuration) {
    const url = bracketedUrl(this, request, configuration);
    const path = request.path;
    const outer = pending;
    pending = url;
    try {
      return addRequest.call(this, request, configuration);
    } finally {
      pending = outer;
      // global-agent rewrote the path to its own (unbracketed) absolute form: the request is
      // proxied as a plain http:// request, and the proxy must read a valid target.
      if (url !== null && request.path !== path) request.path = url;
      if (request.path !== path) restateRequestLine(request, path);
    }
  };
}

/**
 * Rewrites the request line of a head node:http has written, from the path it was written with to
 * the request's current one: in `_header`, and in the head still waiting in `outputData` when
 * node:http has "sent" it already (it does so at once for an `Expect` request, and holds it there
 * until the socket is connected, which is after this). A head that is not there, has left, or
 * does not start with that exact line is left alone.
 */
function restateRequestLine(request, writtenPath) {
  try {
    const written = `${request.method} ${writtenPath} HTTP/1.1\r\n`;
    const line = `${request.method} ${request.path} HTTP/1.1\r\n`;
    const head = request._header;
    if (typeof head !== 'string' || !head.startsWith(written)) return;
    if (request._headerSent) {
      const waiting = Array.isArray(request.outputData) ? request.outputData[0] : undefined;
      if (waiting === undefined || typeof waiting.data !== 'string' || !waiting.data.startsWith(written)) return;
      waiting.data = line + waiting.data.slice(written.length);
      if (typeof request.outputSize === 'number') request.outputSize += line.length - written.length;
    }
    request._header = line + head.slice(written.length);
  } catch {
    // never throw from a preload
  }
}

/**
 * `protocol//[host]:port/path` for an origin-form request to an IPv6 literal; null for anything
 * else, which global-agent already rebuilds correctly (a name, an IPv4, an absolute-form path,
 * CONNECT, a Unix socket).
 */
function bracketedUrl(agent, request, configuration) {
  try {
    if (configuration === null || typeof configuration !== 'object' || configuration.socketPath) return null;
    const host = configuration.hostname ?? configuration.host;
    const path = request.path;
    if (typeof host !== 'string' || !net.isIPv6(host) || typeof path !== 'string' || !path.startsWith('/') || request.method === 'CONNECT') return null;
    const port = configuration.port === 80 || configuration.port === 443 || configuration.port === undefined ? '' : `:${configuration.port}`;
    return `${agent.protocol}//[${host}]${port}${path}`;
  } catch {
    return null;
  }
}

module.exports = { guardRouting };
