import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

const SHOWN = 8;

/**
 * Ends every run with its slowest test files and the slowest test in each, so the last lines of a
 * CI log (often all that is kept) say where the time went on a machine slower than ours.
 */
export default class SlowestFiles implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const rows = testModules
      .map((module) => ({ file: relative(process.cwd(), module.moduleId), ms: module.diagnostic().duration, slowest: slowestTest(module) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, SHOWN);
    if (rows.length === 0) return;
    const lines = rows.map((row) => `  ${ms(row.ms).padStart(9)}  ${row.file}${row.slowest === null ? '' : `  (slowest: ${ms(row.slowest.ms)} ${row.slowest.name})`}`);
    process.stdout.write(`\nslowest test files:\n${lines.join('\n')}\n`);
  }
}

function slowestTest(module: TestModule): { name: string; ms: number } | null {
  let found: { name: string; ms: number } | null = null;
  for (const test of module.children.allTests()) {
    const duration = test.diagnostic()?.duration ?? 0;
    if (found === null || duration > found.ms) found = { name: test.name, ms: duration };
  }
  return found;
}

function ms(value: number): string {
  return `${Math.round(value).toLocaleString('en')} ms`;
}
