// 1. CONNECT tunnel throughput: 1 GiB through one tunnel to the local sink (up) or from the
// local source (down). The first 8 bytes tell the far end how many bytes follow. Direct: the
// same client on a plain TCP connection to the same sink/source.
import { openTunnel } from './lib/tunnel.mjs';
import { childMain, isMain } from './lib/child.mjs';

const CHUNK = Buffer.alloc(64 * 1024, 0x62);

function header(bytes) {
  const h = Buffer.alloc(8);
  h.writeBigUInt64BE(BigInt(bytes));
  return h;
}

async function up(via, target, bytes) {
  const socket = await openTunnel(via, target);
  const t0 = process.hrtime.bigint();
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('end', () => reject(new Error('sink closed early')));
    socket.once('data', resolve); // the sink's 'K' after the last byte
    socket.resume();
    socket.write(header(bytes));
    let left = bytes;
    const pump = () => {
      while (left > 0) {
        const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= piece.length;
        if (!socket.write(piece)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  socket.destroy();
  return seconds;
}

async function down(via, target, bytes) {
  const socket = await openTunnel(via, target);
  const t0 = process.hrtime.bigint();
  await new Promise((resolve, reject) => {
    let got = 0;
    socket.once('error', reject);
    socket.once('end', () => reject(new Error(`source closed after ${got} bytes`)));
    socket.on('data', (chunk) => {
      got += chunk.length;
      if (got >= bytes) resolve();
    });
    socket.resume();
    socket.write(header(bytes));
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  socket.destroy();
  return seconds;
}

export async function measure({ via, host, port, bytes, warmupBytes, direction }, ctx) {
  const run = direction === 'down' ? down : up;
  const target = { host, port };
  if (warmupBytes > 0) await run(via, target, warmupBytes);
  await ctx.checkpoint('start');
  const seconds = await run(via, target, bytes);
  await ctx.checkpoint('end');
  return { bytes, seconds, mbPerSec: bytes / 1e6 / seconds };
}

if (isMain(import.meta.url)) childMain(measure);
