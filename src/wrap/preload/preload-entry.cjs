/*
 * kaizen-proxy preload for Node children (wrap mode). Bundled with esbuild into dist/preload.cjs so it
 * is self-contained: it cannot rely on the child's node_modules. Loaded through
 * NODE_OPTIONS="--require <absolute path>". It must never throw: a throwing preload kills the child.
 *
 * - fetch: undici's EnvHttpProxyAgent as the global dispatcher (Node's built-in fetch reads it from
 *   globalThis[Symbol.for('undici.globalDispatcher.1')], which setGlobalDispatcher writes), with
 *   proxyTunnel: false so that http:// URLs go as absolute-form requests rather than CONNECT host:80:
 *   the proxy then decides each request (method, path), and a refusal reaches the program as the
 *   proxy's 403 with its X-Kaizen-* headers instead of undici's "Request was cancelled". Loading
 *   undici costs about 60-90 ms and 16 MB per process, so it is loaded on the first read of that
 *   slot (the first fetch, or the child's own undici starting), not at startup: the many Node
 *   processes that never fetch (npm scripts, compilers, linters) pay nothing.
 * - http/https (and got, node-fetch, axios on top of them): global-agent, reading the UPPER-case
 *   HTTP_PROXY/HTTPS_PROXY/NO_PROXY that wrap mode sets, with its routing decision guarded
 *   (guard-routing.cjs: IPv6 literal hosts, and a decision that throws goes through the proxy).
 * It does nothing where the Node version already honours NODE_USE_ENV_PROXY=1 for that API.
 */
'use strict';

const { guardRouting } = require('./guard-routing.cjs');

const DISPATCHER = Symbol.for('undici.globalDispatcher.1');

function nodeVersion() {
  const parts = process.versions.node.split('.').map(Number);
  return { major: parts[0] || 0, minor: parts[1] || 0 };
}

/** Node 22.21+ and 24.5+ route fetch and http through env proxies when NODE_USE_ENV_PROXY=1; 24.0-24.4 fetch only. */
function builtinSupport() {
  if (process.env.NODE_USE_ENV_PROXY !== '1') return { fetch: false, http: false };
  const { major, minor } = nodeVersion();
  if (major >= 25 || (major === 24 && minor >= 5) || (major === 22 && minor >= 21)) return { fetch: true, http: true };
  if (major === 24) return { fetch: true, http: false };
  return { fetch: false, http: false };
}

/**
 * Puts a getter in the dispatcher slot. On its first read the getter removes itself, loads undici
 * (whose own start-up sees an empty slot and fills it with a plain Agent) and then installs
 * EnvHttpProxyAgent over it. If anything fails the slot is left empty or plain: fetch then works
 * unproxied rather than throwing. A dispatcher the program installs itself wins, as it would
 * without the preload.
 */
function routeFetchLazily() {
  if (globalThis[DISPATCHER] !== undefined) {
    installProxyDispatcher();
    return;
  }
  Object.defineProperty(globalThis, DISPATCHER, {
    configurable: true,
    enumerable: false,
    get() {
      delete globalThis[DISPATCHER];
      installProxyDispatcher();
      return globalThis[DISPATCHER];
    },
    set(value) {
      Object.defineProperty(globalThis, DISPATCHER, { value, writable: true, enumerable: false, configurable: true });
    },
  });
}

function installProxyDispatcher() {
  try {
    const { EnvHttpProxyAgent, setGlobalDispatcher } = require('undici');
    setGlobalDispatcher(new EnvHttpProxyAgent({ proxyTunnel: false }));
  } catch (error) {
    warn('fetch', error);
  }
}

function routeHttp() {
  try {
    const { createGlobalProxyAgent } = require('global-agent');
    createGlobalProxyAgent({ environmentVariableNamespace: '' });
    // global-agent installs its agents as the global ones; an IPv6 literal host would crash their decision.
    guardRouting(require('node:http').globalAgent);
    guardRouting(require('node:https').globalAgent);
  } catch (error) {
    warn('http', error);
  }
}

function install() {
  if (globalThis.__kaizenProxyPreload) return;
  Object.defineProperty(globalThis, '__kaizenProxyPreload', { value: true, enumerable: false });
  const builtin = builtinSupport();
  if (!builtin.fetch) routeFetchLazily();
  if (!builtin.http) routeHttp();
}

function warn(what, error) {
  try {
    if (process.env.KAIZEN_PROXY_PRELOAD_DEBUG === '1') {
      process.stderr.write(`kaizen-proxy preload: ${what} not routed: ${error && error.message}\n`);
    }
  } catch {
    // never throw from a preload
  }
}

try {
  install();
} catch (error) {
  warn('preload', error);
}
