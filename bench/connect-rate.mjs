// 3. Connections per second at 50 concurrent: each of 50 loops opens a new tunnel, does a
// 1-byte echo and closes, until a fixed total is done.
import { tunnelEcho } from './lib/tunnel.mjs';
import { childMain, isMain } from './lib/child.mjs';

async function burst(via, target, total, concurrency) {
  let started = 0;
  let errors = 0;
  let firstError = null;
  const loop = async () => {
    while (started < total) {
      started++;
      try {
        await tunnelEcho(via, target);
      } catch (err) {
        errors++;
        firstError ??= err.message;
      }
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, errors, firstError };
}

export async function measure({ via, host, port, total, concurrency, warmup }, ctx) {
  const target = { host, port };
  if (warmup > 0) await burst(via, target, warmup, concurrency);
  await ctx.checkpoint('start');
  const { seconds, errors, firstError } = await burst(via, target, total, concurrency);
  await ctx.checkpoint('end');
  return { total, concurrency, seconds, errors, firstError, perSec: (total - errors) / seconds };
}

if (isMain(import.meta.url)) childMain(measure);
