/** How a drain ended: nothing was left, the deadline passed, or it was ended early (DrainOptions.signal). */
export type DrainEnd = 'finished' | 'deadline' | 'cut';

export interface DrainOptions {
  /** The one deadline, for requests and tunnels alike (limits.drain_timeout). */
  readonly timeoutMs: number;
  /**
   * Wait for open tunnels too (a graceful shutdown); false: only for exchanges in flight, the
   * tunnels being cut right after (wrap mode, once its command is gone).
   */
  readonly waitForTunnels: boolean;
  /** Aborted: the drain ends at once (a second SIGTERM or SIGINT). */
  readonly signal?: AbortSignal;
  /** Called each time an exchange ends while the drain waits: its connection may be idle now. */
  readonly exchangeEnded?: () => void;
}

/**
 * What a graceful close waits for: exchanges in flight (plain requests, tunnels and upgrades
 * being set up) and tunnels open (CONNECT tunnels after their 200, opaque or intercepted, spliced
 * upgrades and redirected TLS, until their exchange is reported closed). Tunnels are counted on
 * the exchange's tally, so a tunnel counts once whatever was decided on its way (an SNI check is
 * a second decision, not a second tunnel), and never when it was refused or its destination
 * could not be reached. The tunnel count is also kaizen_proxy_active_tunnels.
 */
export class Lifecycle {
  #inflight = 0;
  #tunnels = 0;
  #draining = false;
  #waitForTunnels = true;
  /** Set while a drain waits: called when what it waits for is done. */
  #onIdle: (() => void) | null = null;
  /** DrainOptions.exchangeEnded, while a drain waits. */
  #onEnd: (() => void) | null = null;

  get draining(): boolean {
    return this.#draining;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get openTunnels(): number {
    return this.#tunnels;
  }

  begin(): void {
    this.#inflight++;
  }

  end(): void {
    this.#inflight--;
    if (this.#onEnd !== null) this.#onEnd();
    if (this.#onIdle !== null && this.#idle()) this.#onIdle();
  }

  tunnelOpened(): void {
    this.#tunnels++;
  }

  tunnelClosed(): void {
    this.#tunnels--;
    if (this.#onIdle !== null && this.#idle()) this.#onIdle();
  }

  /**
   * Mark draining (new responses say `Connection: close`); resolves when nothing it waits for is
   * left, at the deadline, or when `signal` aborts, whichever is first.
   */
  drain(options: DrainOptions): Promise<DrainEnd> {
    this.#draining = true;
    this.#waitForTunnels = options.waitForTunnels;
    const signal = options.signal;
    if (signal?.aborted === true) return Promise.resolve('cut');
    if (this.#idle()) return Promise.resolve('finished');
    return new Promise((resolve) => {
      const done = (end: DrainEnd): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#onIdle = null;
        this.#onEnd = null;
        resolve(end);
      };
      const onAbort = (): void => {
        done('cut');
      };
      const timer = setTimeout(done, options.timeoutMs, 'deadline');
      this.#onIdle = () => {
        done('finished');
      };
      this.#onEnd = options.exchangeEnded ?? null;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #idle(): boolean {
    return this.#inflight === 0 && (this.#tunnels === 0 || !this.#waitForTunnels);
  }
}
