// 6. Control-plane calls for concurrent first connections to one host: against a freshly
// started kaizen-proxy (cold verdict cache), open a fixed number of tunnels to the same target
// at once and prove each with a 1-byte echo. The driver counts calls at the fake control plane.
import { tunnelEcho } from './lib/tunnel.mjs';
import { childMain, isMain } from './lib/child.mjs';

export async function measure({ via, host, port, count }) {
  const target = { host, port };
  const t0 = process.hrtime.bigint();
  const results = await Promise.allSettled(Array.from({ length: count }, () => tunnelEcho(via, target)));
  const failed = results.filter((r) => r.status === 'rejected');
  return {
    count,
    ok: count - failed.length,
    firstError: failed[0]?.reason?.message ?? null,
    seconds: Number(process.hrtime.bigint() - t0) / 1e9,
  };
}

if (isMain(import.meta.url)) childMain(measure);
