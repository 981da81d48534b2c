// Preloaded into a proxy by `bench/profile.mjs --window` (node --import): V8's CPU profiler over
// the measured section only, so a profile of 5,000 tunnels is not drowned by start-up and by the
// `--first` runs (`--cpu-prof` covers the whole process). The first SIGUSR2 starts it, the second
// stops it and writes the profile to $KZP_CPU_OUT (a temporary name, then renamed).
// KZP_CPU_INTERVAL sets the sampling interval in µs (200, as profile.mjs gives --cpu-prof).
import { profileOnSignals } from './signal-profiler.mjs';

const session = profileOnSignals({ domain: 'Profiler', start: 'start', stop: 'stop', params: undefined, out: process.env.KZP_CPU_OUT });
session.post('Profiler.setSamplingInterval', { interval: Number(process.env.KZP_CPU_INTERVAL ?? 200) });
