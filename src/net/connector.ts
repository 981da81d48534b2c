import type { Target } from '../contract/target.js';
import { dial, dialThen, type DialOptions, type DialReport, type DialResult } from './dial.js';
import { compileNoProxy } from './no-proxy-rules.js';
import { connectThroughProxy, type UpstreamConnectResult } from './upstream-connect.js';
import type { UpstreamProxy, UpstreamProxySettings, UpstreamUse } from './upstream-proxy.js';

/** A failure at the upstream proxy: its URL (never credentials), the destination asked for, what went wrong. */
export interface UpstreamFailure {
  readonly proxy: string;
  readonly target: string;
  readonly detail: string;
  readonly status: number | null;
}

/** Told of each failure of the upstream proxy (for the log); never given credentials. */
export type UpstreamFailureListener = (failure: UpstreamFailure) => void;

/**
 * The one place that decides how a TCP path to a destination is opened: dialled directly to the
 * addresses the decider checked, or through the upstream proxy (upstream_proxy) with CONNECT.
 * Tunnels, WebSocket upgrades, redirected TLS and plain/intercepted HTTP (through upstreamFor) all
 * ask here, so upstream_no_proxy and the choice of proxy are applied the same way everywhere.
 */
export interface Connector {
  /** The upstream proxy for a connection to host:port, or null to go direct (none set, or upstream_no_proxy). */
  upstreamFor(use: UpstreamUse, host: string, port: number): UpstreamProxy | null;
  /**
   * A connected byte stream to the target. Direct: the checked addresses, in order. Through the
   * upstream: CONNECT by name (the upstream resolves it); any failure there is KZP_ERR_UPSTREAM_PROXY.
   */
  open(target: Target, addresses: readonly string[], options: DialOptions): Promise<DialResult>;
  /**
   * open, reporting to `receiver` instead of a promise (a tunnel's setup: see dialThen): `dialed`
   * once with the result, or `dialFailed` if opening threw. Either may run inside this call.
   */
  openThen(target: Target, addresses: readonly string[], options: DialOptions, receiver: DialReceiver): void;
  /**
   * CONNECT to `authority` ("host:port") through `proxy` (upstreamFor chose it), a failure there
   * reported as open reports it: for the https:// requests the proxy sends itself (a tunnel route,
   * src/proxy/origin-route.ts), which know the proxy and authority.
   */
  through(proxy: UpstreamProxy, authority: string, options: DialOptions): Promise<UpstreamConnectResult>;
  /**
   * A failure at the upstream seen outside the connector (its 407 to a plain request sent to it
   * absolute-form), told to the same listener as the connector's own, so one place logs them all.
   */
  reportFailure(failure: UpstreamFailure): void;
}

/** Where openThen reports: dialThen's report, and a failure to open at all. */
export interface DialReceiver extends DialReport {
  dialFailed(error: unknown): void;
}

export interface ConnectorOptions {
  /** null: every path is direct. */
  readonly upstream: UpstreamProxySettings | null;
  readonly onUpstreamFailure?: UpstreamFailureListener;
}

export function createConnector(options: ConnectorOptions): Connector {
  const settings = options.upstream;
  if (settings === null || (settings.https === null && settings.http === null)) return directConnector;
  const direct = compileNoProxy(settings.noProxy);
  const upstreamFor = (use: UpstreamUse, host: string, port: number): UpstreamProxy | null => {
    const proxy = use === 'tunnel' ? settings.https : settings.http;
    if (proxy === null || direct(host, port)) return null;
    return proxy;
  };
  const report = (proxy: UpstreamProxy, authority: string, connected: UpstreamConnectResult): void => {
    if (!connected.ok && !connected.aborted) options.onUpstreamFailure?.({ proxy: proxy.url, target: authority, detail: connected.detail, status: connected.status });
  };
  const open = async (target: Target, addresses: readonly string[], dialOptions: DialOptions): Promise<DialResult> => {
    const proxy = upstreamFor('tunnel', target.host, target.port);
    if (proxy === null) return dial(addresses, target.port, dialOptions);
    const connected = await connectThroughProxy(proxy, target.authority, dialOptions);
    if (connected.ok) return { ok: true, socket: connected.socket, address: proxy.host };
    report(proxy, target.authority, connected);
    return { ok: false, code: 'KZP_ERR_UPSTREAM_PROXY', aborted: connected.aborted };
  };
  return {
    upstreamFor,
    open,
    reportFailure(failure) {
      options.onUpstreamFailure?.(failure);
    },
    async through(proxy, authority, dialOptions) {
      const connected = await connectThroughProxy(proxy, authority, dialOptions);
      report(proxy, authority, connected);
      return connected;
    },
    openThen(target, addresses, dialOptions, receiver) {
      // A destination outside the upstream proxy (no_proxy) is dialled as directConnector dials it, without a promise.
      if (upstreamFor('tunnel', target.host, target.port) === null) {
        directConnector.openThen(target, addresses, dialOptions, receiver);
        return;
      }
      open(target, addresses, dialOptions).then(
        (result) => {
          receiver.dialed(result);
        },
        (error: unknown) => {
          receiver.dialFailed(error);
        },
      );
    },
  };
}

/** No upstream proxy: every path is dialled directly to the checked addresses. */
export const directConnector: Connector = {
  upstreamFor: () => null,
  // Never chosen here (upstreamFor is null); a caller that names a proxy anyway still gets one.
  through: connectThroughProxy,
  open: (target, addresses, options) => dial(addresses, target.port, options),
  // No upstream, no listener: nothing to tell.
  reportFailure: () => undefined,
  openThen(target, addresses, options, receiver) {
    try {
      dialThen(addresses, target.port, options, receiver);
    } catch (error) {
      receiver.dialFailed(error);
    }
  },
};
