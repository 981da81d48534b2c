import type { Socket } from 'node:net';

/** How long a tunnel's upload stays quiet before a drain that does not wait for tunnels cuts it. */
export const UPLOAD_QUIET_MS = 50;

/**
 * A spliced tunnel's upload when the drain does not wait for open tunnels (wrap mode, its command
 * gone). The command's last bytes may still be on their way although it has exited: held here for
 * a slow destination (the client socket paused meanwhile), more in the kernel behind them, and its
 * FIN behind those, unread until they are. Cutting then hands the destination a clean FIN after
 * part of the upload, which looks like all of it. So the tunnel is cut only once its upload is
 * quiet: nothing held for the destination, the client not paused, and no byte read from it for
 * UPLOAD_QUIET_MS and one more poll for I/O (a loop turn blocked longer than the window does not
 * make it quiet). A process still holding the tunnel open without sending (one the command left
 * behind) is cut that soon. Once the client's FIN is read the upload is complete: the splice
 * carries the FIN on and the destination's answer ends the tunnel. The drain's deadline bounds
 * both. `cut` closes the tunnel (socket-pipe.ts: a reset while its download is still coming);
 * stop() once it has closed.
 */
export class UploadFlush {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #cut: () => void;
  #seen = -1;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  readonly #tick = this.#poll.bind(this);
  readonly #decide = this.#decideNow.bind(this);

  constructor(client: Socket, upstream: Socket, cut: () => void) {
    this.#client = client;
    this.#upstream = upstream;
    this.#cut = cut;
  }

  start(): void {
    this.#seen = this.#client.bytesRead;
    this.#timer = setTimeout(this.#tick, UPLOAD_QUIET_MS);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** The window passed: decide after the next poll for I/O, which reads what the kernel holds. */
  #poll(): void {
    this.#timer = null;
    setImmediate(this.#decide);
  }

  #decideNow(): void {
    const client = this.#client;
    // Closed meanwhile, or the upload is complete: its end is the destination's to give.
    if (this.#stopped || client.destroyed || client.readableEnded) return;
    const read = client.bytesRead;
    if (read !== this.#seen || client.isPaused() || this.#upstream.writableLength > 0) {
      this.start();
      return;
    }
    this.#cut();
  }
}
