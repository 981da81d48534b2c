import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssues, loadConfig } from '../../../src/config/load.js';

/** An API key goes out as an HTTP header value: one that cannot is a configuration error at load. */
const dir = mkdtempSync(join(tmpdir(), 'kzp-api-key-'));
const NO_DEFAULT = join(dir, 'absent.yaml');

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function withKeyFile(keyText: string): { config: string; keyFile: string } {
  const keyFile = write(`key-${String(keyText.length)}.txt`, keyText);
  const config = write(`key-${String(keyText.length)}.yaml`, `agent: a\ncontrol_plane:\n  api_key_file: ${JSON.stringify(keyFile)}\n`);
  return { config, keyFile };
}

describe('API key validation', () => {
  it('refuses a key file with two lines (naming the file, line and key, never the value), takes one with a trailing newline', () => {
    const { config, keyFile } = withKeyFile('sk-abc\nsk-def\n');
    const result = loadConfig({ env: {}, defaultFile: NO_DEFAULT, flags: { config } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ where: `${config}:3`, key: 'control_plane.api_key_file' });
    const text = formatIssues(result.issues);
    expect(text).toContain(keyFile);
    expect(text).toMatch(/one line of visible ASCII/);
    expect(text).not.toContain('sk-abc');
    expect(text).not.toContain('sk-def');

    const { config: oneLine } = withKeyFile('sk-live_0123456789\n');
    const accepted = loadConfig({ env: {}, defaultFile: NO_DEFAULT, flags: { config: oneLine } });
    expect(accepted.ok && accepted.config.controlPlane.apiKey).toBe('sk-live_0123456789');
  });

  it('refuses control characters and non-latin1 text from KAIZEN_API_KEY, naming the variable', () => {
    for (const key of ['sk-abc\nsk-def', 'sk-\u0007bell', 'sk-\u20acuro', 'sk abc']) {
      const result = loadConfig({ env: { KAIZEN_API_KEY: key }, defaultFile: NO_DEFAULT });
      expect(result.ok, JSON.stringify(key)).toBe(false);
      if (result.ok) continue;
      expect(result.issues[0]).toMatchObject({ where: 'env KAIZEN_API_KEY' });
      expect(formatIssues(result.issues)).not.toContain(key);
    }
  });

  it('names the config line of api_key_file when the key file cannot be read', () => {
    const config = write('missing-key.yaml', `agent: a\ncontrol_plane:\n  api_key_file: ${JSON.stringify(join(dir, 'nope'))}\n`);
    const result = loadConfig({ env: {}, defaultFile: NO_DEFAULT, flags: { config } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ where: `${config}:3`, key: 'control_plane.api_key_file' });
  });
});
