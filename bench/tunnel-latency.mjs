// 2. New tunnel + 1-byte echo latency: sequentially, CONNECT, wait for 200, send 1 byte, read
// the echo, close; p50/p99 over a fixed count (after a short warm-up that also fills
// kaizen-proxy's verdict cache, so this measures the cached path).
import { percentile, tunnelEcho } from './lib/tunnel.mjs';
import { childMain, isMain } from './lib/child.mjs';

export async function measure({ via, host, port, count, warmup }, ctx) {
  const target = { host, port };
  for (let i = 0; i < warmup; i++) await tunnelEcho(via, target);
  const samples = new Float64Array(count);
  await ctx.checkpoint('start');
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await tunnelEcho(via, target);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e3; // µs
  }
  await ctx.checkpoint('end');
  samples.sort();
  return { count, p50Us: percentile(samples, 50), p99Us: percentile(samples, 99), maxUs: samples[count - 1] };
}

if (isMain(import.meta.url)) childMain(measure);
