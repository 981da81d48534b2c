import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseByteSize } from '../../../src/config/byte-size.js';
import { formatIssues, loadConfig } from '../../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'kzp-spool-config-'));
const NO_DEFAULT = join(dir, 'absent.yaml');

function loadText(text: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return loadConfig({ env, defaultFile: NO_DEFAULT, flags: { config: file } });
}

describe('data_dir and spool keys', () => {
  it('default to .kaizen-proxy/, 64 MiB, 50 replays a second, writes every 100ms', () => {
    const result = loadConfig({ env: {}, defaultFile: NO_DEFAULT });
    expect(result.ok && result.config.dataDir).toBe('.kaizen-proxy/');
    expect(result.ok && result.config.spool).toEqual({ maxBytes: 64 * 1024 * 1024, replayRatePerSecond: 50, fsyncIntervalMs: 100 });
  });

  it('take sizes with units or in bytes, and KAIZEN_PROXY_DATA_DIR', () => {
    const result = loadText('data_dir: /var/lib/kz\nspool: { max_bytes: 512KiB, replay_rate: 5, fsync_interval: 20ms }\n', { KAIZEN_PROXY_DATA_DIR: '/data' });
    expect(result.ok ? result.config : formatIssues(result.issues)).toMatchObject({ dataDir: '/data', spool: { maxBytes: 524_288, replayRatePerSecond: 5, fsyncIntervalMs: 20 } });
    expect(loadText('spool: { max_bytes: 100000 }\n')).toMatchObject({ ok: true, config: { spool: { maxBytes: 100_000 } } });
  });

  it('refuse sizes out of range, unknown keys and a rate of zero, naming the key', () => {
    const result = loadText('spool:\n  max_bytes: 1KiB\n  replay_rate: 0\n  keep: forever\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => issue.key).sort()).toEqual(['spool.keep', 'spool.max_bytes', 'spool.replay_rate']);
  });

  it('parses sizes', () => {
    expect(parseByteSize('64MiB')).toBe(67_108_864);
    expect(parseByteSize('1.5 KB')).toBe(1500);
    expect(parseByteSize('12 parsecs')).toBeUndefined();
    expect(parseByteSize('-1MiB')).toBeUndefined();
  });
});
