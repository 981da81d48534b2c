import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { startTransparent, type DirectTransparent } from '../transparent/direct-listener.js';

/**
 * An upload whose head came with more than 16 KiB of its body, to a destination whose decision is
 * not immediate (a verdict from the control plane, a name not yet looked up). node:http stopped
 * reading the client for it, and a 'resume' the hand-off from the fast lane (or the transparent
 * sniff) had scheduled started reading again: nothing paused the connection after that, and the
 * whole upload went into memory while the decision waited (10 clients of 100 MB: RSS 107 MB to
 * 1.1 GB in 1.2 s with a control plane answering in 1.3 s). Once decided, the upload goes on whole.
 */
const UPLOAD_BYTES = 64 * 1024 * 1024;
/** What the client may get written while nothing reads: socket buffers both sides, node:http's 16 KiB. */
const HELD_LIMIT = 16 * 1024 * 1024;
/** How long a write may wait for 'drain' before the upload counts as held back. */
const STALL_MS = 500;

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/**
 * Writes body chunks until `total` bytes are written, as fast as `socket` takes them; with
 * `stallMs`, stops once a write waited that long for 'drain'. Resolves with the bytes written.
 */
async function writeBody(socket: Socket, written: number, total: number, stallMs: number | null): Promise<number> {
  let sent = written;
  while (sent < total) {
    if (socket.writableNeedDrain) {
      const waits: Promise<boolean>[] = [once(socket, 'drain').then(() => true)];
      if (stallMs !== null) waits.push(new Promise<boolean>((resolve) => setTimeout(resolve, stallMs, false).unref()));
      if (!(await Promise.race(waits))) break;
    }
    socket.write(CHUNK);
    sent += CHUNK.length;
  }
  return sent;
}

/** The response's text once it holds `marker`. */
async function responseWith(socket: Socket, marker: string): Promise<string> {
  let text = '';
  socket.setEncoding('latin1');
  for await (const chunk of socket as AsyncIterable<string>) {
    text += chunk;
    if (text.includes(marker)) break;
  }
  return text;
}

let origin: Origin;
let proxy: StartedProxy | null = null;
let transparent: DirectTransparent | null = null;
let release: () => void = () => undefined;
const sockets: Socket[] = [];

function heldDecider(): ReturnType<typeof createFakeDecider> {
  const until = new Promise<void>((resolve) => (release = resolve));
  return createFakeDecider({ hold: { targets: [`127.0.0.1:${String(origin.port)}`], until } });
}

/** Uploads while the decision is held, then releases it: what the proxy took meanwhile, and the destination's count of the body. */
async function upload(port: number, target: string): Promise<{ readonly taken: number; readonly answer: string }> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const head = `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\nContent-Length: ${String(UPLOAD_BYTES)}\r\n\r\n`;
  // The head and 64 KiB of its body in one write: the proxy reads them together.
  socket.write(Buffer.concat([Buffer.from(head, 'latin1'), CHUNK]));
  const written = await writeBody(socket, CHUNK.length, UPLOAD_BYTES, STALL_MS);
  const taken = written - socket.writableLength;
  release();
  const answered = responseWith(socket, `"bytes":${String(UPLOAD_BYTES)}`);
  await writeBody(socket, written, UPLOAD_BYTES, null);
  return { taken, answer: await answered };
}

afterEach(async () => {
  release();
  for (const socket of sockets.splice(0)) socket.destroy();
  await proxy?.close();
  await transparent?.close();
  proxy = null;
  transparent = null;
  await origin.close();
});

describe('an upload while its decision is pending', () => {
  it('is not read past the socket buffers on the proxy port, and goes on whole once decided', async () => {
    origin = await startOrigin();
    proxy = await startProxy({ decider: heldDecider() });
    const { taken, answer } = await upload(proxy.port, `${origin.url}/sha256`);
    expect(taken).toBeLessThan(HELD_LIMIT);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('is not read past the socket buffers on the transparent listener, and goes on whole once decided', async () => {
    origin = await startOrigin();
    transparent = await startTransparent({ decider: heldDecider() });
    const { taken, answer } = await upload(transparent.port, '/sha256');
    expect(taken).toBeLessThan(HELD_LIMIT);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });
});
