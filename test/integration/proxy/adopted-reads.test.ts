import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, Socket, type AddressInfo, type NetConnectOpts, type Server } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptReads, relayReads } from '../../../src/net/relay-reads.js';
import { createTestCa } from '../../helpers/test-ca.js';
import { receiveSlowly, type Received } from './slow-receiver.js';

// The upload direction of a tunnel read into our own buffer (src/net/relay-reads.ts adoptReads):
// the client socket node:http accepted is switched to relayed reads on this runtime (CI runs it
// on Node 20 and 24), every byte reaches a slow destination in order even while earlier writes
// still hold the read buffer, bytes read before the switch go first, the FIN follows, and a full
// destination stops the reading instead of piling up writes.

const servers: (Server | HttpServer)[] = [];
const opened: Socket[] = [];
afterEach(async () => {
  for (const socket of opened.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listening(server: Server | HttpServer): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A destination that reads slowly and hashes what it got, or (paused) reads nothing at all. */
async function destination(paused = false): Promise<{ port: number; received: Promise<Received> }> {
  let settle: (value: Received) => void = () => undefined;
  const received = new Promise<Received>((resolve) => {
    settle = resolve;
  });
  const port = await listening(
    createServer({ allowHalfOpen: true }, (socket) => {
      opened.push(socket);
      if (paused) socket.pause();
      else void receiveSlowly(socket).then(settle);
    }),
  );
  return { port, received };
}

/** A CONNECT through a node:http server, as the proxy gets its tunnels: the client socket, the socket node:http hands over, and the head bytes. */
async function connectTunnel(firstBytes: Buffer): Promise<{ client: Socket; accepted: Socket; head: Buffer }> {
  let handOver: (value: { accepted: Socket; head: Buffer }) => void = () => undefined;
  const handed = new Promise<{ accepted: Socket; head: Buffer }>((resolve) => {
    handOver = resolve;
  });
  const server = createHttpServer();
  server.on('connect', (_req, socket, head) => {
    if (socket instanceof Socket) handOver({ accepted: socket, head });
  });
  const port = await listening(server);
  const client = connect({ host: '127.0.0.1', port });
  opened.push(client);
  client.write(Buffer.concat([Buffer.from('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n'), firstBytes]));
  const { accepted, head } = await handed;
  opened.push(accepted);
  return { client, accepted, head };
}

/** An outgoing socket to `port` whose writes are taken far beyond what the kernel holds (so reads go on while earlier writes still point into the read buffer). */
async function eagerSink(port: number, highWaterMark = 16 * 1024 * 1024): Promise<Socket> {
  // Node takes the Duplex option; @types/node does not list it for connect.
  const options: NetConnectOpts & { writableHighWaterMark: number } = { host: '127.0.0.1', port, writableHighWaterMark: highWaterMark };
  const out = connect(options);
  opened.push(out);
  await once(out, 'connect');
  return out;
}

describe('adopted reads (the upload direction)', () => {
  it("relay 8 MiB from node:http's CONNECT socket byte for byte, the bytes read before first, then the FIN", async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const { client, accepted, head } = await connectTunnel(Buffer.from('EARLY'));
    // More bytes arrive while the socket is still an ordinary stream (the proxy's first-flight wait).
    client.write('-BUFFERED-');
    accepted.pause();
    await new Promise<void>((resolve) => {
      accepted.once('readable', resolve);
    });
    const sink = await destination();
    const out = await eagerSink(sink.port);
    out.write(head);
    expect(adoptReads(accepted)).toBe(true);
    expect(relayReads(accepted, out)).toBe(true);
    client.end(payload);
    const got = await sink.received;
    const sent = Buffer.concat([Buffer.from('EARLY-BUFFERED-'), payload]);
    expect(got).toEqual({ bytes: sent.length, sha: createHash('sha256').update(sent).digest('hex') });
  });

  it('stop reading while the destination takes nothing, instead of piling up writes', async () => {
    const { client, accepted } = await connectTunnel(Buffer.alloc(0));
    const sink = await destination(true);
    const out = await eagerSink(sink.port, 64 * 1024);
    expect(adoptReads(accepted)).toBe(true);
    expect(relayReads(accepted, out)).toBe(true);
    let peak = 0;
    // 32 MiB from the client at once: what the kernel does not take waits in the client's own buffer.
    for (let i = 0; i < 32; i += 1) client.write(randomBytes(1024 * 1024));
    // Until the proxy side has read nothing new for ten turns in a row.
    let still = 0;
    while (still < 10) {
      const before = accepted.bytesRead;
      peak = Math.max(peak, out.writableLength);
      await new Promise((resolve) => setImmediate(resolve));
      still = accepted.bytesRead === before ? still + 1 : 0;
    }
    expect(client.writableLength).toBeGreaterThan(0);
    // At most one read (1 MiB at the largest) past the sink's 64 KiB high-water mark.
    expect(peak).toBeLessThanOrEqual(64 * 1024 + 1024 * 1024);
    expect(accepted.isPaused()).toBe(true);
  });

  it('leave a TLS socket and an adopted socket alone (the caller pipes them)', async () => {
    const ca = await createTestCa();
    const port = await listening(
      createTlsServer({ key: ca.keyPem, cert: ca.certPem }, (socket) => {
        opened.push(socket);
      }),
    );
    const tls = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.caPem });
    opened.push(tls);
    await once(tls, 'secureConnect');
    expect(adoptReads(tls)).toBe(false);
    await ca.remove();

    const { accepted } = await connectTunnel(Buffer.alloc(0));
    expect(adoptReads(accepted)).toBe(true);
    expect(adoptReads(accepted)).toBe(false);
  });
});
