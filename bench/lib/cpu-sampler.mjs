// Preloaded into a proxy by `bench/profile.mjs --window` (node --import): V8's CPU profiler over
// the measured section only, so a profile of 5,000 tunnels is not drowned by start-up and by the
// `--first` runs (`--cpu-prof` covers the whole process). The first SIGUSR2 starts it, the second
// stops it and writes the profile to $KZP_CPU_OUT (a temporary name, then renamed).
// KZP_CPU_INTERVAL sets the sampling interval in µs (200, as profile.mjs gives --cpu-prof).
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.KZP_CPU_OUT;
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: Number(process.env.KZP_CPU_INTERVAL ?? 200) });
let running = false;
process.on('SIGUSR2', () => {
  if (!running) {
    running = true;
    session.post('Profiler.start');
    return;
  }
  running = false;
  session.post('Profiler.stop', (error, result) => {
    if (error || out === undefined) return;
    writeFileSync(`${out}.tmp`, JSON.stringify(result.profile));
    renameSync(`${out}.tmp`, out);
  });
});
