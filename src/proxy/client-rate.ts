import { LRUCache } from 'lru-cache';

export interface ClientRateOptions {
  /** Actions a client may start per second, on average. */
  readonly perSecond: number;
  /** Actions a client may start at once after a quiet spell (the bucket's size); 0 for `perSecond` rounded up. At least 1. */
  readonly burst: number;
  /** Clients tracked at most; the least recently seen is forgotten first (it starts again with a full bucket). */
  readonly maxClients: number;
  /** Clock in ms (tests pass a fake one); performance.now by default. */
  readonly now?: () => number;
}

/** The client a gateway agent's actions count against: in gateway mode a client is its agent, else its address. */
export function agentClient(agent: string): string {
  return `agent ${agent}`;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client (limits.client_rate, limits.client_burst): each action a client
 * starts takes one token; tokens come back at `perSecond`, up to `burst`. An agent caught in a
 * loop is held to its rate with 429s while every other client goes on. Memory is bounded by
 * `maxClients` buckets of two numbers each.
 */
export class ClientRate {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets: LRUCache<string, Bucket>;

  constructor(options: ClientRateOptions) {
    this.#perMs = options.perSecond / 1000;
    this.#burst = Math.max(1, options.burst > 0 ? options.burst : Math.ceil(options.perSecond));
    this.#now = options.now ?? (() => performance.now());
    this.#buckets = new LRUCache({ max: Math.max(1, options.maxClients) });
  }

  /** Takes a token for `client`: null when it had one, else the whole seconds until it will (at least 1). */
  take(client: string): number | null {
    const now = this.#now();
    const bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      this.#buckets.set(client, { tokens: this.#burst - 1, at: now });
      return null;
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
  }

  /** Drops `client`'s bucket: seen again, it starts with a full one (a gateway identity removed or admitted anew). */
  forget(client: string): void {
    this.#buckets.delete(client);
  }
}
