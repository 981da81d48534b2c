import type { RefusedEvent } from '../../../src/contract/observer.js';
import { startProxy, type StartedProxy, type StartProxyOptions } from '../../helpers/start-proxy.js';

/**
 * The proxy with its transparent listener on 127.0.0.1:0, reached by connecting to it directly:
 * without iptables there is no redirect to undo, and none is needed, since the listener never reads
 * the original destination (SO_ORIGINAL_DST): it takes it from the first bytes (the SNI or the Host
 * header), exactly as for a redirected connection. The netns test covers the redirect itself.
 */
export interface DirectTransparent {
  readonly proxy: StartedProxy;
  /** The transparent listener's port on 127.0.0.1. */
  readonly port: number;
  /** Every early refusal reported to the observer (what the metrics count). */
  readonly refused: readonly RefusedEvent[];
  close(): Promise<void>;
}

export async function startTransparent(options: StartProxyOptions = {}): Promise<DirectTransparent> {
  const refused: RefusedEvent[] = [];
  const proxy = await startProxy({
    ...options,
    observer: {
      ...options.observer,
      refused(event) {
        refused.push(event);
        options.observer?.refused?.(event);
      },
    },
  });
  const bound = await proxy.server.listenTransparent('127.0.0.1', 0);
  return { proxy, port: bound.port, refused, close: () => proxy.close() };
}
