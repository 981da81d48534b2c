import { connect, type Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly head: string;
  readonly body: string;
}

/** A raw TCP client for byte-exact requests: pipelining, malformed lines, resets mid-body. */
export class RawClient {
  readonly socket: Socket;
  /** Resolves when the connection is closed by either side. */
  readonly closed: Promise<void>;
  #buffer = '';
  #waiters: (() => void)[] = [];
  #ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#ended = true;
        this.#wake();
        resolve();
      });
    });
  }

  /** `localAddress`: the client's own address (another of 127.0.0.0/8 plays another client). */
  static open(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Everything up to and including the first match of `marker`; the rest stays buffered. */
  async readUntil(marker: string): Promise<string> {
    for (;;) {
      const at = this.#buffer.indexOf(marker);
      if (at >= 0) {
        const out = this.#buffer.slice(0, at + marker.length);
        this.#buffer = this.#buffer.slice(at + marker.length);
        return out;
      }
      if (this.#ended) throw new Error(`connection closed before ${JSON.stringify(marker)}; got ${JSON.stringify(this.#buffer.slice(0, 300))}`);
      await this.#more();
    }
  }

  async readBytes(count: number): Promise<string> {
    while (this.#buffer.length < count) {
      if (this.#ended) throw new Error(`connection closed after ${this.#buffer.length} of ${count} bytes`);
      await this.#more();
    }
    const out = this.#buffer.slice(0, count);
    this.#buffer = this.#buffer.slice(count);
    return out;
  }

  /** One response with a Content-Length body (or none, for 1xx/204/304/HEAD callers). */
  async readResponse(options: { readonly bodiless?: boolean } = {}): Promise<RawResponse> {
    const head = await this.readUntil('\r\n\r\n');
    const lines = head.split('\r\n');
    const status = Number((lines[0] ?? '').split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const length = Number(headers['content-length'] ?? '0');
    const body = options.bodiless === true || status < 200 || status === 204 || status === 304 ? '' : await this.readBytes(length);
    return { status, headers, head, body };
  }

  /** Everything until the server closes the connection. */
  async readToEnd(): Promise<string> {
    await this.closed;
    const out = this.#buffer;
    this.#buffer = '';
    return out;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #more(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Send bytes on a fresh connection and return everything received until the proxy closes it. */
export async function rawExchange(port: number, data: string): Promise<string> {
  const client = await RawClient.open(port);
  client.write(data);
  return client.readToEnd();
}

/** One request on a new connection to 127.0.0.1:port, its response read, the connection dropped. */
export async function sendRaw(port: number, request: string): Promise<RawResponse> {
  const client = await RawClient.open(port);
  client.write(request);
  const response = await client.readResponse();
  client.destroy();
  return response;
}
