import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { tempDir, writeFile } from '../../integration/reflex/cli-process.js';

describe('observed (the record kaizen-proxy manifest reads)', () => {
  const load = (yaml: string): ReturnType<typeof loadConfig> => loadConfig({ env: {}, flags: { config: writeFile(tempDir(), 'k.yaml', yaml) } });

  it('defaults: on, 1000 destinations per agent, rewritten at most every 5 s', () => {
    const loaded = load('admin: off');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.config.observed).toEqual({ enabled: true, maxDestinations: 1000, flushIntervalMs: 5000 });
  });

  it('refuses unknown keys and out-of-range values, naming them', () => {
    const loaded = load('admin: off\nobserved: { max_destinations: 0, flush_interval: 1ms, color: red }');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.issues.map((issue) => issue.key).sort()).toEqual(['observed.color', 'observed.flush_interval', 'observed.max_destinations']);
  });
});
