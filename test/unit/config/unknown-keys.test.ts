import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssues, loadConfig } from '../../../src/config/load.js';

/** An unknown key is reported at its own path and line, one issue per key, not at its parent's. */
const dir = mkdtempSync(join(tmpdir(), 'kzp-unknown-keys-'));

describe('unknown keys', () => {
  it('names each unknown key with its full path and the line it is on', () => {
    const file = join(dir, 'unknown.yaml');
    writeFileSync(
      file,
      ['# comment', 'listen: 127.0.0.1:0', 'admin: off', 'cache:', '  max_entries: 5', '  allow_ttl: 5m', '  block_tl: 30s', '  maxentries: 3', 'listen_addr: 1', ''].join('\n'),
    );
    const result = loadConfig({ env: {}, defaultFile: join(dir, 'absent.yaml'), flags: { config: file } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const lines = formatIssues(result.issues).split('\n');
    expect(lines).toContain(`${file}:7: cache.block_tl: Unrecognized key: "block_tl"; see the README for the keys`);
    expect(lines).toContain(`${file}:8: cache.maxentries: Unrecognized key: "maxentries"; see the README for the keys`);
    expect(lines).toContain(`${file}:9: listen_addr: Unrecognized key: "listen_addr"; see the README for the keys`);
    expect(lines).toHaveLength(3);
  });
});
