// The shared half of the preloaded samplers (alloc-sampler.mjs, cpu-sampler.mjs): an inspector
// session in the proxy, where the first SIGUSR2 starts a profiler and the second stops it and
// writes its profile to `out` (a temporary name, then renamed, so a reader never sees half of it).
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

/** `domain`: the inspector domain to enable; `start`/`stop`: its methods; `params`: start's parameters. */
export function profileOnSignals({ domain, start, stop, params, out }) {
  const session = new Session();
  session.connect();
  session.post(`${domain}.enable`);
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post(`${domain}.${start}`, params);
      return;
    }
    running = false;
    session.post(`${domain}.${stop}`, (error, result) => {
      if (error || out === undefined) return;
      writeFileSync(`${out}.tmp`, JSON.stringify(result.profile));
      renameSync(`${out}.tmp`, out);
    });
  });
  return session;
}
