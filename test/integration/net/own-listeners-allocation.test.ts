import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * OwnListeners.includes runs before every dial (src/net/address-guard.ts), so it must not allocate:
 * it filtered and mapped arrays on each call, even for a port none of our listeners uses. Measured in
 * a node of its own (built dist/, young generation fixed at 64 MiB so that no scavenge hides garbage,
 * every collection observed and any in a measured window reported): after warm-up, the V8 heap must
 * not grow while includes answers the same as before, case by case.
 */
const run = promisify(execFile);
const url = (path: string): string => pathToFileURL(resolve(path)).href;

const SCRIPT = `
import { getHeapStatistics } from 'node:v8';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { createOwnListeners } from ${JSON.stringify(url('dist/net/own-listeners.js'))};
import { parseIp } from ${JSON.stringify(url('dist/net/ip-address.js'))};

const collections = [];
new PerformanceObserver((list) => { collections.push(...list.getEntries().map((entry) => entry.startTime)); }).observe({ entryTypes: ['gc'] });
const own = createOwnListeners(() => ['127.0.0.1', '::1', '10.1.2.3', 'fd00::2'], () => 0);
own.set([{ address: '127.0.0.1', port: 3128 }, { address: '::1', port: 3129 }, { address: '0.0.0.0', port: 9090 }]);
const cases = JSON.parse(process.argv.at(-1)).map(([text, port]) => [text, parseIp(text), port]);
const CALLS = 100000;
function calls(ip, port, count) {
  let hits = 0;
  for (let i = 0; i < count; i++) if (own.includes(ip, port)) hits++;
  return hits;
}
// Warm-up: every path optimised (and re-optimised after each new case) before any window opens.
for (let round = 0; round < 5; round++) for (const [, ip, port] of cases) calls(ip, port, CALLS);
// A window that allocates nothing can still show up to ~250 KB (V8's own bookkeeping after a
// collection), so each case gets several windows and the least growth counts: garbage made per
// call shows in every one of them.
const results = [];
const windows = [];
for (const [text, ip, port] of cases) {
  let least = Infinity;
  let hits = 0;
  for (let window = 0; window < 5; window++) {
    globalThis.gc();
    const start = performance.now();
    const before = getHeapStatistics().used_heap_size;
    hits = calls(ip, port, CALLS);
    const after = getHeapStatistics().used_heap_size;
    windows.push([start, performance.now()]);
    least = Math.min(least, after - before);
  }
  results.push({ target: text + ' ' + port, includes: own.includes(ip, port), hits, bytesPerCall: least / CALLS });
}
await new Promise((done) => setTimeout(done, 50));
const collected = windows.some(([from, to]) => collections.some((time) => time >= from && time <= to));
process.stdout.write(JSON.stringify({ results, collected }));
`;

/** Target, port, and whether dialling it reaches one of the listeners set in SCRIPT. */
const CASES: readonly (readonly [string, number, boolean])[] = [
  ['93.184.215.14', 443, false], // no listener on the port: every other dial
  ['2606:2800::1', 443, false],
  ['93.184.215.14', 3128, false], // a listener's port, another host
  ['2606:2800::1', 3128, false],
  ['fd00::2', 3128, false], // words of 2^31 and more are doubles to V8: none may be boxed
  ['127.0.0.1', 3128, true],
  ['::ffff:127.0.0.1', 3128, true], // IPv4-mapped
  ['0.0.0.0', 3128, true], // Linux delivers the unspecified address to loopback
  ['64:ff9b::7f00:1', 3128, true], // NAT64 carrying the listener's IPv4
  ['::1', 3129, true],
  ['::', 3129, true],
  ['93.184.215.14', 9090, false], // the wildcard listener's port
  ['127.0.0.5', 9090, true],
  ['10.1.2.3', 9090, true], // an interface address
  ['2002:a01:203::1', 9090, true], // 6to4 carrying an interface address
  ['fd00::2', 9090, true],
  ['fc00::1', 9090, false], // not ours: every check runs
];

describe('own listeners: includes() on the dial path', () => {
  it('allocates nothing per call and answers each case as before', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64', '--input-type=module', '-e', SCRIPT, JSON.stringify(CASES.map(([target, port]) => [target, port]))],
      { timeout: 30_000 },
    );
    const measured = JSON.parse(stdout) as { results: { target: string; includes: boolean; hits: number; bytesPerCall: number }[]; collected: boolean };
    expect(measured.collected, 'a collection ran inside a measured window').toBe(false);
    expect(measured.results.map((result) => [result.target, result.includes])).toEqual(CASES.map(([target, port, includes]) => [`${target} ${port}`, includes]));
    for (const result of measured.results) {
      expect(result.hits, result.target).toBe(result.includes ? 100_000 : 0);
      // Not 0: getHeapStatistics' own answer lands in the window.
      expect(result.bytesPerCall, result.target).toBeLessThan(1);
    }
  });
});
