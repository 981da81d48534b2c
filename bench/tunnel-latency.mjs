// 2. New tunnel + 1-byte echo latency: sequentially, CONNECT, wait for 200, send 1 byte, read
// the echo, close; p50/p99 over a fixed count. Two slices of one sequential run: the first `count`
// after a short warm-up (`warmup`, which also fills kaizen-proxy's verdict cache, so both slices
// measure the cached path), and `count` more after `steadyAfter` further tunnels. The first slice
// is what a proxy that has just started gives (a JIT runtime has not compiled its connect path
// yet); the second is a proxy that has been serving, which is what a sidecar does all day.
// The proxy's CPU is sampled around the steady slice.
import { percentile, tunnelEcho } from './lib/tunnel.mjs';
import { childMain, isMain } from './lib/child.mjs';

async function slice(via, target, count) {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await tunnelEcho(via, target);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e3; // µs
  }
  samples.sort();
  return { p50Us: percentile(samples, 50), p99Us: percentile(samples, 99), maxUs: samples[count - 1] };
}

export async function measure({ via, host, port, count, warmup, steadyAfter = 0 }, ctx) {
  const target = { host, port };
  for (let i = 0; i < warmup; i++) await tunnelEcho(via, target);
  const first = await slice(via, target, count);
  for (let i = 0; i < steadyAfter; i++) await tunnelEcho(via, target);
  await ctx.checkpoint('start');
  const steady = await slice(via, target, count);
  await ctx.checkpoint('end');
  return { count, ...steady, firstP50Us: first.p50Us, firstP99Us: first.p99Us };
}

if (isMain(import.meta.url)) childMain(measure);
