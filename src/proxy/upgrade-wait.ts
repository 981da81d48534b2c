import type { Socket } from 'node:net';

/**
 * An Upgrade request waits on its destination (the dial, a TLS handshake, then the answer) before
 * anything is relayed. A client that leaves meanwhile gives the destination up at once, not when it
 * answers or times out: a reset or close is the socket's 'close', and a FIN counts as leaving too,
 * as node:http and the fast lane take one for any request (a client that stops sending has given up
 * on the answer), so the socket is destroyed on it. The dial and the TLS handshake watch the client
 * as their owner; this watch destroys the destination socket the answer is awaited on.
 */
export class UpgradeWait {
  readonly #client: Socket;
  #upstream: Socket | null = null;
  readonly #onEnd: () => void = this.#ended.bind(this);
  readonly #onClose: () => void = this.#closed.bind(this);

  constructor(client: Socket) {
    this.#client = client;
    client.once('end', this.#onEnd);
    client.once('close', this.#onClose);
  }

  /** The answer is awaited on `upstream`: destroyed if the client leaves (at once if it has). */
  watch(upstream: Socket): void {
    if (this.#client.destroyed) upstream.destroy();
    else this.#upstream = upstream;
  }

  /** The wait is over (answered, failed or abandoned): the relay, if any, watches both ends itself. */
  stop(): void {
    this.#client.off('end', this.#onEnd);
    this.#client.off('close', this.#onClose);
    this.#upstream = null;
  }

  #ended(): void {
    this.#client.destroy();
  }

  #closed(): void {
    this.#upstream?.destroy();
  }
}
