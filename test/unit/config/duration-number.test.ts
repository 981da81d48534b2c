import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssues, loadConfig } from '../../../src/config/load.js';

/** A duration written as a bare number has no unit: the error says a unit is expected. */
describe('a duration without a unit', () => {
  it('names the key and line and asks for a unit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kzp-duration-'));
    const file = join(dir, 'number.yaml');
    writeFileSync(file, 'agent: a\nnetwork:\n  connect_timeout: 10\n');
    const result = loadConfig({ env: {}, defaultFile: join(dir, 'absent.yaml'), flags: { config: file } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(result.issues)).toBe(`${file}:3: network.connect_timeout: expected a duration with a unit such as 1500ms, 30s, 5m or 1h, got 10`);
  });
});
