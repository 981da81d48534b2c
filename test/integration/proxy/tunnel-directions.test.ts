import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { dial } from '../../../src/net/dial.js';
import { relayReads } from '../../../src/net/relay-reads.js';
import { batchedPipe, BULK_CHUNK, MAX_PENDING } from '../../../src/net/batched-pipe.js';
import { loopbackServers } from './loopback-servers.js';
import { receiveSlowly, type Received } from './slow-receiver.js';

// The two directions of a tunnel on real loopback sockets. Download: relayable reads
// (src/net/relay-reads.ts): the dialled socket is an ordinary Readable until relayed; once relayed,
// every byte reaches the sink in order, even when the sink is slow and holds the read buffer's
// memory across many reads. Upload: the batched pipe (src/net/batched-pipe.ts) from an accepted
// socket, byte for byte through a slow sink, with the FIN carried and interactive bytes not held.

const { listen, opened } = loopbackServers();

async function dialRelayable(port: number): Promise<Socket> {
  const dialed = await dial(['127.0.0.1'], port, { connectTimeoutMs: 2_000, relayable: true });
  if (!dialed.ok) throw new Error(dialed.code);
  return dialed.socket;
}

/** A receiver that reads slowly (paused between chunks) and hashes what it got. */
async function slowSink(): Promise<{ port: number; received: Promise<Received> }> {
  let settle: (value: Received) => void = () => undefined;
  const received = new Promise<Received>((resolve) => {
    settle = resolve;
  });
  const port = await listen((socket) => {
    void receiveSlowly(socket).then(settle);
  });
  return { port, received };
}

describe('relayable reads', () => {
  it('behave as an ordinary stream until relayed: data events, pause and unshift', async () => {
    const port = await listen((socket) => {
      socket.end('banner-1\r\nrest');
    });
    const socket = await dialRelayable(port);
    const [first] = (await once(socket, 'data')) as [Buffer];
    expect(first.toString()).toBe('banner-1\r\nrest');
    socket.pause();
    socket.unshift(first.subarray(10));
    expect((socket.read() as Buffer).toString()).toBe('rest');
    socket.destroy();
  });

  it('relay 8 MiB byte for byte to a slow sink, bytes buffered before the relay first, then the FIN', async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const port = await listen((socket) => {
      socket.end(Buffer.concat([Buffer.from('HEAD'), payload]));
    });
    const sink = await slowSink();
    const source = await dialRelayable(port);
    const [first] = (await once(source, 'data')) as [Buffer];
    source.pause();
    source.unshift(first);
    // A sink that accepts writes far beyond what the kernel takes at once: reads go on while
    // earlier writes still point into the read buffer, so a reused buffer would corrupt them.
    // (Node takes the Duplex option; @types/node does not list it for connect.)
    const options: NetConnectOpts & { writableHighWaterMark: number } = { host: '127.0.0.1', port: sink.port, writableHighWaterMark: 16 * 1024 * 1024 };
    const out = connect(options);
    await once(out, 'connect');
    expect(relayReads(source, out)).toBe(true);
    const got = await sink.received;
    const expected = createHash('sha256').update('HEAD').update(payload).digest('hex');
    expect(got.bytes).toBe(payload.length + 4);
    expect(got.sha).toBe(expected);
    expect(source.bytesRead).toBe(payload.length + 4);
    out.destroy();
    source.destroy();
  });

  it('keep 16 tunnels apart while their small first buffers are lent to their sinks', async () => {
    // Every tunnel's first read buffer is a slice of a shared slab: a slice a sink still holds must
    // never be handed to another tunnel. The sources write 200 bytes a turn (reads stay inside the
    // first buffer) and the sinks are corked until their source ends (relayReads then ends them,
    // which flushes), so every read is lent.
    const PAYLOAD = 128 * 1024;
    const relays = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const payload = randomBytes(PAYLOAD);
        const port = await listen((socket) => {
          let at = 0;
          const next = (): void => {
            if (at >= payload.length) {
              socket.end();
              return;
            }
            socket.write(payload.subarray(at, at + 200));
            at += 200;
            setImmediate(next);
          };
          next();
        });
        const source = await dialRelayable(port);
        const sink = await slowSink();
        // A high-water mark above the payload: corked writes never ask the relay to wait for 'drain'.
        const options: NetConnectOpts & { writableHighWaterMark: number } = { host: '127.0.0.1', port: sink.port, writableHighWaterMark: 4 * PAYLOAD };
        const out = connect(options);
        opened.push(source, out);
        await once(out, 'connect');
        out.cork();
        expect(relayReads(source, out)).toBe(true);
        return { sink, expected: createHash('sha256').update(payload).digest('hex') };
      }),
    );
    for (const { sink, expected } of relays) {
      const got = await sink.received;
      expect(got).toEqual({ bytes: PAYLOAD, sha: expected });
    }
  });

  it('relay nothing for a socket dialled without relayable reads (the caller pipes)', async () => {
    const port = await listen((socket) => {
      socket.end();
    });
    const dialed = await dial(['127.0.0.1'], port, { connectTimeoutMs: 2_000 });
    if (!dialed.ok) throw new Error(dialed.code);
    expect(relayReads(dialed.socket, dialed.socket)).toBe(false);
    dialed.socket.destroy();
  });

  it('carry the FIN of a source that ended before the relay began', async () => {
    const port = await listen((socket) => {
      socket.end('bye');
    });
    const sink = await slowSink();
    const source = await dialRelayable(port);
    source.on('data', () => undefined);
    await once(source, 'end');
    source.pause();
    const out = (await dial(['127.0.0.1'], sink.port, { connectTimeoutMs: 2_000 })) as { ok: true; socket: Socket };
    expect(relayReads(source, out.socket)).toBe(true);
    const got = await sink.received;
    expect(got.bytes).toBe(0);
    out.socket.destroy();
    source.destroy();
  });
});

describe('batched upload pipe', () => {
  /** An accepted socket (as node:http hands the proxy its clients) piped with batchedPipe to `sinkPort`. */
  async function acceptedPipe(sinkPort: number): Promise<{ client: Socket; source: Socket; out: Socket; peak: () => number }> {
    let onAccepted: (socket: Socket) => void = () => undefined;
    const accepted = new Promise<Socket>((resolve) => {
      onAccepted = resolve;
    });
    const port = await listen((socket) => {
      onAccepted(socket);
    });
    const client = connect({ host: '127.0.0.1', port });
    const [source] = await Promise.all([accepted, once(client, 'connect')]);
    const out = connect({ host: '127.0.0.1', port: sinkPort });
    opened.push(client, source, out);
    await once(out, 'connect');
    let peak = 0;
    const write = out.write.bind(out);
    out.write = ((chunk: Buffer) => {
      const taken = write(chunk);
      peak = Math.max(peak, out.writableLength);
      return taken;
    });
    batchedPipe(source, out);
    return { client, source, out, peak: () => peak };
  }

  it('carry 8 MiB byte for byte to a slow sink, holding at most a bounded backlog, then the FIN', async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const sink = await slowSink();
    const { client, source, out, peak } = await acceptedPipe(sink.port);
    client.end(payload);
    const got = await sink.received;
    expect(got.bytes).toBe(payload.length);
    expect(got.sha).toBe(createHash('sha256').update(payload).digest('hex'));
    // One loop turn's reads (at most 32 x 64 KiB) may land on top of the limit before the pause.
    expect(peak()).toBeLessThanOrEqual(MAX_PENDING + 32 * 64 * 1024);
    for (const socket of [client, source, out]) socket.destroy();
  });

  it('write interactive bytes at once and hold only bulk reads for the loop turn', async () => {
    const echoPort = await listen((socket) => {
      socket.pipe(socket);
    });
    const { client, source, out } = await acceptedPipe(echoPort);
    // Seen after the pipe's own listener: whether it left the sink corked for this read.
    const corkedAfter: { bytes: number; corked: number }[] = [];
    source.on('data', (chunk: Buffer) => corkedAfter.push({ bytes: chunk.length, corked: out.writableCorked }));
    for (const byte of ['a', 'b', 'c']) {
      client.write(byte);
      const [echoed] = (await once(out, 'data')) as [Buffer];
      expect(echoed.toString()).toBe(byte);
    }
    expect(corkedAfter).toEqual([1, 1, 1].map((bytes) => ({ bytes, corked: 0 })));
    const bulk = randomBytes(256 * 1024);
    client.write(bulk);
    let echoedBytes = 0;
    while (echoedBytes < bulk.length) echoedBytes += ((await once(out, 'data')) as [Buffer])[0].length;
    const bulkReads = corkedAfter.slice(3).filter((read) => read.bytes >= BULK_CHUNK);
    expect(bulkReads.length).toBeGreaterThan(0);
    expect(bulkReads.every((read) => read.corked === 1)).toBe(true);
    expect(out.writableCorked).toBe(0);
    for (const socket of [client, source, out]) socket.destroy();
  });
});
