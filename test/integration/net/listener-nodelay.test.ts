import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inheritNoDelay } from '../../../src/net/listener-nodelay.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

const run = promisify(execFile);
const HELPER = fileURLToPath(new URL('../../helpers/tcp-nodelay.py', import.meta.url));

/** TCP_NODELAY of this process's socket from localPort to remotePort, read by python3 with getsockopt. */
async function noDelayOf(localPort: number, remotePort: number): Promise<number> {
  const { stdout } = await run('python3', [HELPER, String(process.pid), String(localPort), String(remotePort)]);
  return Number(stdout.trim());
}

async function listening(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** TCP_NODELAY of the socket `server` accepts for a new client of `port`; the client is closed after. */
async function acceptedNoDelay(server: Server, port: number): Promise<number> {
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = await RawClient.open(port);
  try {
    const [socket] = await accepted;
    return await noDelayOf(port, socket.remotePort ?? 0);
  } finally {
    client.destroy();
  }
}

/** Each accepted socket's remote port resolves the next waiter: the proxy's side of a tunnel, seen from the destination. */
class Destination {
  readonly server: Server;
  readonly #accepted: Socket[] = [];
  #waiter: ((socket: Socket) => void) | null = null;

  constructor() {
    this.server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.pipe(socket);
      if (this.#waiter !== null) this.#waiter(socket);
      else this.#accepted.push(socket);
    });
  }

  next(): Promise<Socket> {
    const socket = this.#accepted.shift();
    if (socket !== undefined) return Promise.resolve(socket);
    return new Promise((resolve) => {
      this.#waiter = (accepted) => {
        this.#waiter = null;
        resolve(accepted);
      };
    });
  }
}

describe('TCP_NODELAY on both sides of a tunnel', () => {
  let proxy: StartedProxy;
  const destination = new Destination();
  let destinationPort = 0;

  beforeAll(async () => {
    destinationPort = await listening(destination.server);
    proxy = await startProxy();
  });

  afterAll(async () => {
    await proxy.close();
    destination.server.close();
  });

  async function tunnel(): Promise<{ client: RawClient; proxySide: Socket }> {
    const client = await RawClient.open(proxy.port);
    client.write(`CONNECT 127.0.0.1:${destinationPort} HTTP/1.1\r\nHost: 127.0.0.1:${destinationPort}\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
    const proxySide = await destination.next();
    client.write('x');
    expect(await client.readUntil('x')).toBe('x');
    return { client, proxySide };
  }

  it('the client socket the proxy accepted has it, taken from the listener on Linux without a call per socket', async () => {
    const { client } = await tunnel();
    try {
      expect(await noDelayOf(proxy.port, client.socket.localPort ?? 0)).toBe(1);
    } finally {
      client.destroy();
    }
  });

  it('the socket the proxy dialled to the destination has it', async () => {
    const { client, proxySide } = await tunnel();
    try {
      // The destination's accepted socket names the proxy's port on that connection.
      expect(await noDelayOf(proxySide.remotePort ?? 0, destinationPort)).toBe(1);
    } finally {
      client.destroy();
    }
  });

  it('reads 0 for a socket accepted without it (the check tells the two apart)', async () => {
    const plain = createServer({ noDelay: false }, (socket) => socket.on('error', () => undefined));
    const port = await listening(plain);
    try {
      expect(await acceptedNoDelay(plain, port)).toBe(0);
    } finally {
      plain.close();
    }
  });
});

describe('inheritNoDelay', () => {
  it('moves the option to each listening socket on Linux, a second listen included', async () => {
    const server = createServer({ noDelay: true }, (socket) => socket.on('error', () => undefined));
    expect(inheritNoDelay(server, 'linux')).toBe(true);
    for (let listen = 0; listen < 2; listen++) {
      const port = await listening(server);
      // node:net no longer sets it per socket: the accepted socket has it from the listening one.
      expect((server as Server & { noDelay?: boolean }).noDelay).toBe(false);
      expect(await acceptedNoDelay(server, port)).toBe(1);
      server.close();
      await once(server, 'close');
    }
  });

  it('changes nothing on another platform or for a server without the option', async () => {
    const elsewhere = createServer({ noDelay: true });
    const without = createServer({ noDelay: false });
    expect(inheritNoDelay(elsewhere, 'darwin')).toBe(false);
    expect(inheritNoDelay(without, 'linux')).toBe(false);
    await Promise.all([listening(elsewhere), listening(without)]);
    try {
      expect((elsewhere as Server & { noDelay?: boolean }).noDelay).toBe(true);
      expect((without as Server & { noDelay?: boolean }).noDelay).toBe(false);
      expect(elsewhere.listenerCount('listening') + without.listenerCount('listening')).toBe(0);
    } finally {
      elsewhere.close();
      without.close();
    }
  });
});
