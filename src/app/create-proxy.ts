import type { ConfigResult, ProxyConfig } from '../config/types.js';
import { formatHostPort, type HostPort } from '../config/host-port.js';
import { shownUrl } from '../config/shown-url.js';
import { createAddressGuard } from '../net/address-guard.js';
import { combineObservers, type ProxyObserver } from '../contract/observer.js';
import { createLogger, type Logger } from '../observe/logger.js';
import type { CloseOptions } from '../proxy/graceful-close.js';
import { createProxyServer } from '../proxy/proxy-server.js';
import { createDecider } from '../verdict/create-decider.js';
import { openSpool } from '../verdict/spool/open-spool.js';
import { createDnsMetrics } from '../observe/dns-metrics.js';
import { createSpoolMetrics } from '../observe/spool-metrics.js';
import { createReloader, type ReloadOutcome } from './config-reload.js';
import { createLocalReflex } from './local-reflex.js';
import { isLoopbackHost } from '../net/loopback-host.js';
import { createGatewayIdentities } from './gateway-identities.js';
import { createObservability } from './observability.js';
import { listenTransparent } from './transparent-listeners.js';
import { bindListener } from './listen-error.js';
import { untilAborted } from './until-aborted.js';
import { createObservedRecord } from './observed-setup.js';
import { createUpstreamConnector } from './upstream-setup.js';
import { setUpInterception } from './interception-setup.js';
import { settleSocketOptionsClone } from '../runtime/socket-options-clone.js';
import { warnOnDescriptorBudget } from './descriptor-budget.js';

export interface CreateProxyOptions {
  /** A logger to use instead of one built from config.log (tests capture lines this way). */
  readonly logger?: Logger;
  /** Receives every decision and every finished exchange (wrap-mode summary, metrics, records). */
  readonly observer?: ProxyObserver;
  /** Keep the observed-egress record under data_dir (when observed.enabled); wrap mode says false. */
  readonly recordObserved?: boolean;
  /**
   * Warn at start when RLIMIT_NOFILE cannot carry limits.max_connections (descriptor-budget.ts).
   * Wrap mode says false: its proxy serves one command, for which max_connections is a ceiling and
   * not a capacity, and the warning would land on the command's terminal at every run on a host
   * whose hard limit is below 20,128; a refusal past the descriptors is still a warning line there.
   */
  readonly warnDescriptorBudget?: boolean;
  /**
   * Aborted (SIGTERM during start-up): the start stops before listening, without waiting for the
   * first policy sync (its request is abandoned when the sync stops), closes what it opened and
   * rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
}

export interface KaizenProxy {
  /** The bound proxy address (the port is real even when 0 was asked for). */
  readonly address: HostPort;
  /** The bound admin address (/healthz, /readyz, /metrics), or null when config.admin is off. */
  readonly admin: HostPort | null;
  /** The bound transparent-mode address (redirected connections), or null when config.transparent is off. */
  readonly transparent: HostPort | null;
  readonly logger: Logger;
  /**
   * Graceful stop: readiness fails, listeners stop accepting, requests in flight and open tunnels
   * may finish until limits.drain_timeout, then what is left is closed. Later calls return the
   * first call's promise.
   */
  close(options?: CloseOptions): Promise<void>;
  /**
   * Hot reload with a freshly loaded configuration (SIGHUP, file change): an invalid one is logged
   * and changes nothing; policies, mode and log level apply at once; open connections stay.
   */
  reload(loaded: ConfigResult, trigger: string): ReloadOutcome;
}

/**
 * The composition root: the only place that knows every part. It builds the address guard and the
 * decider from the configuration and hands the transport nothing but the Decider.
 */
export async function createProxy(config: ProxyConfig, options: CreateProxyOptions = {}): Promise<KaizenProxy> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  // Node 20 only: every socket's options copy would make new hidden classes (see the module).
  settleSocketOptionsClone();
  // First: a CA that cannot be used stops the start before anything listens or connects.
  const interception = await setUpInterception(config, logger);
  const guard = createAddressGuard({ allowPrivate: config.network.allowPrivate });
  // Changed policies invalidate cached verdicts (reported with the old local verdict): one agent's
  // synced set only that agent's, the file's (every agent's policies) all of them.
  const reflex = createLocalReflex(config, logger, {
    onPoliciesChanged: (agent) => {
      if (agent === null) decider.clearCache();
      else decider.clearAgentCache(agent);
    },
  });
  const observability = createObservability(config, logger, {
    activeConnections: () => server.activeConnections,
    activeTunnels: () => server.activeTunnels,
    cacheEntries: () => decider.cacheSize,
    policySync: () => reflex.syncStatus(),
    originPool: () => server.originPool,
  });
  const spoolMetrics = createSpoolMetrics(observability.metrics.registry, () => spool);
  createDnsMetrics(observability.metrics.registry, () => server.dnsCache);
  // With an account, actions the control plane does not get are spooled under data_dir and replayed.
  const spool =
    config.controlPlane.apiKey === null
      ? null
      : await openSpool({
          dataDir: config.dataDir,
          controlPlaneUrl: config.controlPlane.url,
          apiKey: config.controlPlane.apiKey,
          maxBytes: config.spool.maxBytes,
          flushIntervalMs: config.spool.fsyncIntervalMs,
          logger,
          metrics: spoolMetrics,
        });
  const decider = createDecider({ config, logger, guard, metrics: observability.deciderMetrics, ...reflex.deciderOptions, spool, spoolMetrics });
  const recorder = createObservedRecord(config, logger, options.recordObserved ?? true);
  // Gateway mode: each identity has its own policy sync, and a reload of the file changes both; an
  // identity removed leaves no state in the transport (its cached verdicts go with its sync).
  const gateway =
    config.gateway.credentials.length > 0
      ? createGatewayIdentities(
          config.gateway.credentials,
          {
            syncAgents: (agents) => reflex.setGatewayAgents(agents),
            forget: (agent) => {
              server.forgetAgent(agent);
            },
          },
          logger,
        )
      : null;
  const server = createProxyServer({
    decider,
    logger,
    observer: combineObservers([observability.observer, ...(recorder === null ? [] : [recorder]), ...(options.observer === undefined ? [] : [options.observer])]),
    connector: createUpstreamConnector(config, logger),
    agent: config.agent,
    ...(gateway === null ? {} : { authenticate: gateway.authenticate }),
    limits: config.limits,
    network: config.network,
    ...interception,
  });

  let bound: { address: string; port: number };
  let admin: HostPort | null;
  let transparent: HostPort[] = [];
  try {
    // Every agent's synced policies are in force from its first connection (a failed sync leaves the file's).
    await untilAborted(reflex.start(), options.signal);
    bound = await bindListener('proxy', config.listen, () => server.listen(config.listen.host, config.listen.port));
    const transparentAt = config.transparent;
    if (transparentAt !== null) transparent = await bindListener('transparent', transparentAt, () => listenTransparent(server, transparentAt));
    admin = config.admin === null ? null : await bindListener('admin', config.admin, () => observability.start());
  } catch (error) {
    reflex.stop();
    await server.close();
    await observability.close();
    await decider.close();
    throw error;
  }
  const own = [...transparent, ...(admin === null ? [] : [admin])].map((listener) => ({ address: listener.host, port: listener.port }));
  guard.setOwnListeners([bound, ...own]);
  const address = { host: bound.address, port: bound.port };
  observability.readiness.markListening();

  announce(logger, config, address, admin, transparent, options.warnDescriptorBudget !== false);
  const reloader = createReloader(config, reflex, logger, gateway);

  let closing: Promise<void> | undefined;
  return {
    address,
    admin,
    transparent: transparent[0] ?? null,
    logger,
    close(closeOptions = {}) {
      closing ??= (async () => {
        // Readiness fails first, so an orchestrator stops sending before the drain begins.
        observability.readiness.markDraining();
        const drained = server.close(closeOptions);
        // Counted once close() has taken what its drain waits for: heads arriving on connections
        // node:http parses are in flight from there (handed-head.ts), idle connections closed.
        logger.info({ drain_timeout_ms: config.limits.drainTimeoutMs, open_tunnels: server.activeTunnels, in_flight: server.inFlight }, 'draining');
        // server.close() has stopped every listener accepting by the time it returns; the drain goes on.
        observability.readiness.markNotListening();
        await drained;
        reflex.stop();
        await decider.close();
        await recorder?.close();
        await observability.close();
        logger.info('stopped');
      })();
      return closing;
    },
    reload: (loaded, trigger) => reloader.reload(loaded, trigger),
  };
}

function announce(logger: Logger, config: ProxyConfig, address: HostPort, admin: HostPort | null, transparent: readonly HostPort[], descriptorBudget: boolean): void {
  const account = config.controlPlane.apiKey !== null;
  const firstTransparent = transparent[0];
  logger.info(
    {
      proxy: formatHostPort(address),
      admin: admin === null ? null : formatHostPort(admin),
      transparent: firstTransparent === undefined ? null : formatHostPort(firstTransparent),
      agent: config.agent,
      fail: config.fail,
      mode: config.mode,
      control_plane: account ? shownUrl(config.controlPlane.url) : null,
      config_file: config.file,
    },
    'listening',
  );
  if (!account) {
    logger.info('no KAIZEN_API_KEY: running without an account, on local policy and the address guard');
  }
  if (config.fail === 'open') {
    logger.warn('fail mode is open: when no verdict can be obtained, connections are allowed');
  }
  const gateway = config.gateway.credentials.length > 0;
  if (gateway) {
    logger.info({ agents: config.gateway.credentials.length }, 'gateway mode: clients authenticate with Proxy-Authorization: Basic agent:token');
  } else if (!isLoopbackHost(address.host)) {
    logger.warn({ proxy: formatHostPort(address) }, 'unsafe_open_proxy: listening beyond loopback without gateway credentials; any host that reaches this port can use the proxy');
  }
  // Redirected connections carry no credentials, gateway or not: they act as the configured agent.
  const exposed = transparent.find((listener) => !isLoopbackHost(listener.host));
  if (exposed !== undefined) {
    logger.warn(
      { transparent: formatHostPort(exposed), agent: config.agent, gateway },
      'unsafe_open_proxy: the transparent listener is beyond loopback and takes no credentials (it bypasses gateway identity); any host that reaches it can use the proxy as the configured agent',
    );
  }
  if (descriptorBudget) warnOnDescriptorBudget(logger, config.limits.maxConnections);
  // Scripts and orchestrators wait on the listening line: never leave it in the write buffer.
  logger.flush();
}
