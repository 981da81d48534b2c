// Preloaded into a proxy by `bench/profile.mjs --alloc` (node --import): V8's sampling heap
// profiler, counting objects the garbage collector has already freed as well (what a proxy
// allocates per tunnel or request is mostly short-lived, so a profile of survivors misses it).
// The first SIGUSR2 starts sampling, the second stops it and writes the profile to
// $KZP_ALLOC_OUT (written to a temporary name, then renamed, so a reader never sees half of it).
// KZP_ALLOC_YOUNG=0 leaves out what scavenges free: what remains is what survived at least one
// (what scavenges copy, and what full collections later free). KZP_ALLOC_INTERVAL sets the mean
// bytes between samples (4096).
import { profileOnSignals } from './signal-profiler.mjs';

profileOnSignals({
  domain: 'HeapProfiler',
  start: 'startSampling',
  stop: 'stopSampling',
  params: {
    samplingInterval: Number(process.env.KZP_ALLOC_INTERVAL ?? 4096),
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: process.env.KZP_ALLOC_YOUNG !== '0',
  },
  out: process.env.KZP_ALLOC_OUT,
});
