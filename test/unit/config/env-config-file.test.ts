import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';

/** KAIZEN_PROXY_CONFIG set but empty is unset, as every other variable is: the default file applies. */
describe('KAIZEN_PROXY_CONFIG', () => {
  it('empty: the default file is read, not a file named ""', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kzp-env-config-'));
    const defaultFile = join(dir, 'kaizen-proxy.yaml');
    writeFileSync(defaultFile, 'agent: from-default-file\n');
    const result = loadConfig({ env: { KAIZEN_PROXY_CONFIG: '' }, defaultFile });
    expect(result.ok && result.config.agent).toBe('from-default-file');
  });
});
