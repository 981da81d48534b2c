import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { dial } from '../../../src/net/dial.js';
import { MAX_READ, MIN_READ, relayReads, SHRINK_AFTER } from '../../../src/net/relay-reads.js';
import { loopbackServers } from './loopback-servers.js';

// Which read buffers a relayed socket goes through (src/net/relay-reads.ts), seen by wrapping the
// read callback and the buffer generator net.Socket calls for each read. Each buffer of its own is
// memory outside V8's heap that only a full collection frees: a bulk transfer must not take a new
// one per read, nor fall back to the smallest buffer on one small read and grow through every
// size again.

const { opened, acceptOne } = loopbackServers();

interface Read {
  readonly nread: number;
  /** The size of the buffer that was read into. */
  readonly size: number;
  /** The size of the buffer handed for the next read, and which one it is (without holding it). */
  nextSize: number;
  nextId: number;
}

/** Records each read of a relayable socket and the buffer handed for the one after it. */
function recordReads(socket: Socket): Read[] {
  const ids = new WeakMap<ArrayBufferLike, number>();
  let count = 0;
  const fields = socket as unknown as Record<symbol, unknown>;
  const named = (name: string): symbol => {
    const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === name);
    if (key === undefined) throw new Error(`net.Socket has no ${name} here`);
    return key;
  };
  const cbKey = named('kBufferCb');
  const genKey = named('kBufferGen');
  const callback = fields[cbKey] as (nread: number, buffer: Uint8Array) => boolean;
  const generate = fields[genKey] as () => Buffer;
  const reads: Read[] = [];
  fields[cbKey] = (nread: number, buffer: Uint8Array): boolean => {
    reads.push({ nread, size: buffer.length, nextSize: 0, nextId: 0 });
    return callback(nread, buffer);
  };
  fields[genKey] = (): Buffer => {
    const next = generate();
    const last = reads.at(-1);
    if (last !== undefined) {
      if (!ids.has(next.buffer)) ids.set(next.buffer, ++count);
      last.nextSize = next.length;
      last.nextId = ids.get(next.buffer) ?? 0;
    }
    return next;
  };
  return reads;
}

/**
 * Counts and hashes what a socket receives; `reached(n)` resolves once n bytes are in. `slowly`:
 * paused for a turn after every chunk, so the relay's writes are still unfinished when it reads
 * again, and each read's buffer is lent.
 */
function tally(socket: Socket, slowly = false): { reached(bytes: number): Promise<void>; sha(): string } {
  const hash = createHash('sha256');
  let bytes = 0;
  const waiting: { at: number; resolve: () => void }[] = [];
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    for (const w of waiting.splice(0)) {
      if (bytes >= w.at) w.resolve();
      else waiting.push(w);
    }
    if (slowly) {
      socket.pause();
      setImmediate(() => socket.resume());
    }
  });
  return {
    reached: (at) => (bytes >= at ? Promise.resolve() : new Promise((resolve) => waiting.push({ at, resolve }))),
    sha: () => hash.digest('hex'),
  };
}

/** source peer --> dialled relayable socket --relayReads--> out --> sink peer. */
async function relay(): Promise<{ sourcePeer: Socket; sinkPeer: Socket; reads: Read[] }> {
  const source = await acceptOne();
  const sink = await acceptOne();
  const out = connect({ host: '127.0.0.1', port: sink.port });
  opened.push(out);
  await once(out, 'connect');
  const dialled = await dial(['127.0.0.1'], source.port, { connectTimeoutMs: 2_000, relayable: true });
  if (!dialled.ok) throw new Error(dialled.code);
  opened.push(dialled.socket);
  const reads = recordReads(dialled.socket);
  expect(relayReads(dialled.socket, out)).toBe(true);
  return { sourcePeer: await source.accepted, sinkPeer: await sink.accepted, reads };
}

describe('relay read buffers', () => {
  it('carry 64 MiB to a slow sink in a handful of buffers, byte for byte', async () => {
    const { sourcePeer, sinkPeer, reads } = await relay();
    const received = tally(sinkPeer, true);
    const payload = randomBytes(64 * 1024 * 1024);
    sourcePeer.write(payload);
    await received.reached(payload.length);
    expect(received.sha()).toBe(createHash('sha256').update(payload).digest('hex'));
    // Growing from MIN_READ to MAX_READ takes a buffer per size (10); after that a lent buffer is
    // read into again once the sink is done with it. A new buffer per lent read took one per read.
    const buffers = new Set(reads.map((r) => r.nextId));
    expect(reads.length).toBeGreaterThan(64);
    expect(buffers.size).toBeLessThanOrEqual(24);
  });

  it('go back to the smallest buffer only after several small reads in a row', async () => {
    const { sourcePeer, sinkPeer, reads } = await relay();
    const received = tally(sinkPeer);
    let sent = 0;
    const send = async (bytes: number): Promise<void> => {
      sourcePeer.write(randomBytes(bytes));
      sent += bytes;
      await received.reached(sent);
    };
    // Bulk, one small read, bulk again, then small reads until the buffer is the smallest.
    await send(8 * 1024 * 1024);
    expect(reads.at(-1)?.nextSize).toBeGreaterThanOrEqual(MAX_READ / 2);
    await send(1);
    await send(8 * 1024 * 1024);
    for (let i = 0; i < 2 * SHRINK_AFTER && reads.at(-1)?.nextSize !== MIN_READ; i++) await send(1);
    expect(reads.at(-1)?.nextSize).toBe(MIN_READ);
    // Every shrink came after SHRINK_AFTER reads in a row, each under an eighth of a large buffer.
    const shrinks = reads.flatMap((r, i) => (r.size > MIN_READ && r.nextSize === MIN_READ ? [i] : []));
    expect(shrinks.length).toBeGreaterThan(0);
    for (const at of shrinks) {
      const run = reads.slice(at - SHRINK_AFTER + 1, at + 1);
      expect(run).toHaveLength(SHRINK_AFTER);
      for (const r of run) expect(r.nread).toBeLessThan(r.size / 8);
    }
  });

  it('hold one large buffer, not two, once a full collection has run after a bulk transfer', async () => {
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const { sourcePeer, sinkPeer, reads } = await relay();
    const received = tally(sinkPeer, true);
    collect();
    const before = process.memoryUsage().arrayBuffers;
    sourcePeer.write(randomBytes(16 * 1024 * 1024));
    await received.reached(16 * 1024 * 1024);
    expect(reads.at(-1)?.nextSize).toBe(MAX_READ);
    collect();
    collect();
    // The read buffer (MAX_READ) is held; the spare lent before it is not.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MAX_READ * 1.5);
  });
});
