// 5. RSS per idle tunnel: open a fixed number of tunnels to the echo server (each proven with
// a 1-byte echo), hold them, and let the driver read the proxy's RSS (its whole process tree)
// before and while they are held. The driver divides the delta by the count.
import { echoOnce, openTunnel, tunnelEcho } from './lib/tunnel.mjs';
import { childMain, isMain } from './lib/child.mjs';

export async function measure({ via, host, port, count, concurrency, warmup }, ctx) {
  const target = { host, port };
  // Warm the proxy's code paths (and kaizen-proxy's verdict cache) before the baseline.
  for (let i = 0; i < warmup; i++) await tunnelEcho(via, target);
  await ctx.checkpoint('baseline');
  const held = [];
  let opened = 0;
  const loop = async () => {
    while (opened < count) {
      opened++;
      const socket = await openTunnel(via, target);
      socket.on('error', () => {});
      await echoOnce(socket);
      held.push(socket);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const alive = held.filter((s) => !s.destroyed).length;
  await ctx.checkpoint('holding', { alive });
  for (const s of held) s.destroy();
  return { count, alive };
}

if (isMain(import.meta.url)) childMain(measure);
