import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built module cli.js imports first: whatever V8 this runs on, it writes nothing (an unknown V8
// flag would be reported on stdout, among the JSON log lines) and the process goes on.
describe('v8-flags-now (built)', () => {
  it('sets the tiering and pretenuring flags, or nothing, without a word on stdout or stderr', () => {
    const module = fileURLToPath(new URL('../../../dist/runtime/v8-flags-now.js', import.meta.url));
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(module)}); console.log('loaded');`], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('loaded\n');
    expect(run.stderr).toBe('');
  });
});
