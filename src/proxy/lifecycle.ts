import { LinkedSet, type LinkedEntry } from '../net/linked-set.js';

/** How a drain ended: nothing was left, the deadline passed, or it was ended early (DrainOptions.signal). */
export type DrainEnd = 'finished' | 'deadline' | 'cut';

export interface DrainOptions {
  /** The one deadline, for requests and tunnels alike (limits.drain_timeout). */
  readonly timeoutMs: number;
  /**
   * Wait for open tunnels too (a graceful shutdown); false (wrap mode, once its command is gone):
   * for exchanges in flight, heads begun and spliced tunnels whose upload is still under way
   * (SplicedTunnel.finishUpload), the others being cut. Neither waits for connections that have
   * sent nothing yet (headBegun(true)), as nginx and Envoy close them at once on a graceful stop:
   * one whose first bytes come while the drain waits for something else is a head begun from then.
   */
  readonly waitForTunnels: boolean;
  /** Aborted: the drain ends at once (a second SIGTERM or SIGINT). */
  readonly signal?: AbortSignal;
  /** Called each time an exchange ends while the drain waits: its connection may be idle now. */
  readonly exchangeEnded?: () => void;
}

/** A tunnel whose two sockets are spliced (socket-pipe.ts), as a drain sees it. */
export interface SplicedTunnel {
  /**
   * The drain does not wait for tunnels: let an upload under way reach the destination and cut
   * the tunnel once its upload is quiet (upload-flush.ts), calling `onCut` when it does: with a
   * reset both ways (cut) while its download has not ended, else with a FIN both ways.
   */
  finishUpload(onCut: () => void): void;
  /**
   * The drain is over: reset both sockets (a TCP RST each way), so neither the client nor the
   * destination takes the stream cut here for a complete one, as a FIN would let them. Returns
   * false, cutting nothing, when the tunnel has ended by itself both ways (its 'close' events
   * still to come): it was not cut.
   */
  cut(): boolean;
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
  /**
   * Connections waiting for a request head that has begun (headBegun, firstBytes): a request whose
   * head is arriving is in flight.
   */
  #heads = 0;
  /** Of the connections waiting for a head, those that have sent no byte yet (headBegun(true)): no drain waits for them. */
  #silent = 0;
  #tunnels = 0;
  /**
   * Spliced tunnels not yet closed: a drain without waitForTunnels waits for their uploads, and
   * those still open when a drain is over are cut.
   */
  readonly #spliced = new LinkedSet<SplicedTunnel>();
  /** Spliced tunnels a drain without waitForTunnels cut once their uploads were quiet. */
  #quietCuts = 0;
  #draining = false;
  #cut = false;
  #waitForTunnels = true;
  readonly #countQuietCut = (): void => {
    this.#quietCuts++;
  };
  /** Set while a drain waits: called when what it waits for is done. */
  #onIdle: (() => void) | null = null;
  /** DrainOptions.exchangeEnded, while a drain waits. */
  #onEnd: (() => void) | null = null;

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * The drain is over and what it left is being cut (cutting()): an exchange that fails or closes
   * unfinished from now on was cut by the shutdown, not by its destination (KZP_ERR_SHUTDOWN).
   */
  get cut(): boolean {
    return this.#cut;
  }

  /** Exchanges in flight, and requests whose head is still arriving or still to come (headBegun). */
  get inflight(): number {
    return this.#inflight + this.#heads + this.#silent;
  }

  /** What a drain waits for of `inflight`: not the connections that have sent nothing. */
  get inflightWaited(): number {
    return this.#inflight + this.#heads;
  }

  get openTunnels(): number {
    return this.#tunnels;
  }

  /** Tunnels cut during a drain without waitForTunnels, their uploads being quiet. */
  get quietCuts(): number {
    return this.#quietCuts;
  }

  begin(): void {
    this.#inflight++;
  }

  end(): void {
    this.#inflight--;
    if (this.#onEnd !== null) this.#onEnd();
    if (this.#onIdle !== null && this.#idle()) this.#onIdle();
  }

  /**
   * A connection waits for a request head (a new connection, or the next head begun on a kept one):
   * a drain waits for it until headEnded(), as for a request in flight. Its head completes (the
   * exchange begins), times out (header_timeout's 408), or its connection closes first.
   * `silent`: the connection has sent no byte yet (a new one), which no drain waits for; firstBytes() once it has.
   */
  headBegun(silent = false): void {
    if (silent) this.#silent++;
    else this.#heads++;
  }

  /** A connection awaited with headBegun(true) has sent its first bytes: a head begun from now. */
  firstBytes(): void {
    this.#silent--;
    this.#heads++;
  }

  /**
   * Checked for idle after the current run: a head that ends as its request begins (the exchange's
   * begin() comes just after) must not end a drain that still has that request to serve.
   */
  headEnded(silent = false): void {
    if (silent) this.#silent--;
    else this.#heads--;
    if (this.#onIdle !== null) queueMicrotask(this.#checkIdle);
  }

  readonly #checkIdle = (): void => {
    if (this.#onIdle !== null && this.#idle()) this.#onIdle();
  };

  tunnelOpened(): void {
    this.#tunnels++;
  }

  tunnelClosed(): void {
    this.#tunnels--;
    if (this.#onIdle !== null && this.#idle()) this.#onIdle();
  }

  /** A tunnel's sockets were spliced; pass the entry to unspliced() once both have closed. */
  spliced(tunnel: SplicedTunnel): LinkedEntry<SplicedTunnel> {
    const entry = this.#spliced.add(tunnel);
    if (this.#draining && !this.#waitForTunnels) tunnel.finishUpload(this.#countQuietCut);
    return entry;
  }

  unspliced(entry: LinkedEntry<SplicedTunnel>): void {
    this.#spliced.delete(entry);
    if (this.#onIdle !== null && this.#idle()) this.#onIdle();
  }

  /** The drain is over: what is still open is about to be cut (see `cut`). */
  cutting(): void {
    this.#cut = true;
  }

  /**
   * Cuts (resets) every spliced tunnel still open, those whose client has closed included; returns
   * how many it found ended by themselves both ways instead (SplicedTunnel.cut), which it leaves be.
   */
  cutSpliced(): number {
    let ended = 0;
    this.#spliced.forEach((tunnel) => {
      if (!tunnel.cut()) ended++;
    });
    return ended;
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
    if (!options.waitForTunnels) {
      this.#spliced.forEach((tunnel) => {
        tunnel.finishUpload(this.#countQuietCut);
      });
    }
    return this.#until(options.timeoutMs, signal, options.exchangeEnded ?? null);
  }

  /**
   * Resolves true once every exchange in flight and every open tunnel counted here has been
   * reported closed (its closed line written and its observers called), false after `timeoutMs`:
   * a close that destroyed them waits for their reports, the wrap summary among them.
   */
  async settled(timeoutMs: number): Promise<boolean> {
    // Everything counted, tunnels included, whatever the drain before it waited for.
    this.#waitForTunnels = true;
    return (await this.#until(timeoutMs, undefined, null)) === 'finished';
  }

  #until(timeoutMs: number, signal: AbortSignal | undefined, exchangeEnded: (() => void) | null): Promise<DrainEnd> {
    if (this.#idle() && this.#silent === 0) return Promise.resolve('finished');
    return new Promise((resolve) => {
      let over = false;
      const done = (end: DrainEnd): void => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#onIdle = null;
        this.#onEnd = null;
        resolve(end);
      };
      const onAbort = (): void => {
        done('cut');
      };
      // At the deadline, one poll turn first: what reached this host before it (a tunnel's last FINs)
      // is read then, so what ended by itself is not taken for what the drain cut (SplicedTunnel.cut).
      const timer = setTimeout(() => {
        setImmediate(done, 'deadline');
      }, timeoutMs);
      this.#onIdle = () => {
        done('finished');
      };
      this.#onEnd = exchangeEnded;
      signal?.addEventListener('abort', onAbort, { once: true });
      // Only silent connections left: the bytes that reached this host before the drain began are
      // read in this turn's poll (a head begun, then waited for) before it ends.
      if (this.#idle()) setImmediate(this.#checkIdle);
    });
  }

  #idle(): boolean {
    if (this.#inflight !== 0 || this.#heads !== 0) return false;
    return this.#waitForTunnels ? this.#tunnels === 0 : this.#spliced.size === 0;
  }
}
