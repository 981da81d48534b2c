// Prints what `bench/profile.mjs --alloc` sampled (bench/lib/alloc-sampler.mjs): bytes allocated
// in the measured section per tunnel, request or GiB, by allocating function and by file. V8
// samples one allocation per `samplingInterval` bytes on average and scales each sample up, so
// small figures are estimates; the per-unit total is what to compare between builds.

/** `short(url)` names a script as the CPU profile's summary does (dist/..., node:...). */
export function printAllocations(profile, { units, unit, top, short }) {
  const byFn = new Map();
  const byFile = new Map();
  let total = 0;
  const walk = (node) => {
    const size = node.selfSize;
    if (size > 0) {
      const f = node.callFrame;
      const file = short(f.url);
      const key = `${f.functionName || '(anonymous)'}  ${file}:${f.lineNumber + 1}`;
      byFn.set(key, (byFn.get(key) ?? 0) + size);
      byFile.set(file, (byFile.get(file) ?? 0) + size);
      total += size;
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const perUnit = (bytes) => `${(bytes / units).toFixed(0).padStart(7)} B/${unit}`;
  console.log(`allocated in the measured section: ${(total / 1024 ** 2).toFixed(1)} MiB, ${perUnit(total).trim()} (freed objects included)`);
  const print = (title, map, n) => {
    console.log(`\n${title}`);
    for (const [k, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      console.log(`${((bytes / total) * 100).toFixed(1).padStart(5)}%  ${perUnit(bytes)}  ${k}`);
    }
  };
  print('allocations by function', byFn, top);
  print('allocations by file', byFile, 20);
}
