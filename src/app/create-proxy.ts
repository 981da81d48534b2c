import type { ProxyConfig } from '../config/types.js';
import { formatHostPort, type HostPort } from '../config/host-port.js';
import { createAddressGuard } from '../net/address-guard.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { createProxyServer } from '../proxy/proxy-server.js';
import { createDecider } from '../verdict/create-decider.js';
import { isLoopbackHost } from './loopback.js';

export interface CreateProxyOptions {
  /** A logger to use instead of one built from config.log (tests capture lines this way). */
  readonly logger?: Logger;
}

export interface KaizenProxy {
  /** The bound proxy address (the port is real even when 0 was asked for). */
  readonly address: HostPort;
  readonly logger: Logger;
  /** Graceful stop: stop accepting, drain in-flight requests up to limits.drain_timeout, close tunnels. */
  close(): Promise<void>;
}

/**
 * The composition root: the only place that knows every part. It builds the address guard and the
 * decider from the configuration and hands the transport nothing but the Decider.
 */
export async function createProxy(config: ProxyConfig, options: CreateProxyOptions = {}): Promise<KaizenProxy> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const guard = createAddressGuard({ allowPrivate: config.network.allowPrivate });
  const decider = createDecider({ config, logger, guard });
  const server = createProxyServer({
    decider,
    logger,
    agent: config.agent,
    limits: config.limits,
    network: config.network,
  });

  let bound: { address: string; port: number };
  try {
    bound = await server.listen(config.listen.host, config.listen.port);
  } catch (error) {
    await decider.close();
    throw error;
  }
  guard.setOwnListeners([bound]);
  const address = { host: bound.address, port: bound.port };

  announce(logger, config, address);

  let closing: Promise<void> | undefined;
  return {
    address,
    logger,
    close() {
      closing ??= (async () => {
        logger.info({ drain_timeout_ms: config.limits.drainTimeoutMs }, 'draining');
        await server.close();
        await decider.close();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}

function announce(logger: Logger, config: ProxyConfig, address: HostPort): void {
  const account = config.controlPlane.apiKey !== null;
  logger.info(
    {
      proxy: formatHostPort(address),
      agent: config.agent,
      fail: config.fail,
      control_plane: account ? config.controlPlane.url : null,
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
  if (!isLoopbackHost(address.host)) {
    logger.warn({ proxy: formatHostPort(address) }, 'listening beyond loopback: any host that reaches this port can use the proxy');
  }
}
