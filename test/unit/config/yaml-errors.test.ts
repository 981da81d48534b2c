import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { aliasBomb } from '../../helpers/alias-bomb.js';

/** What the YAML parser lets through but cannot turn into values is a configuration error too. */
const dir = mkdtempSync(join(tmpdir(), 'kzp-yaml-errors-'));

describe('YAML that cannot become values', () => {
  it('reports an alias bomb as an issue naming the file, never throws', () => {
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, aliasBomb());
    const result = loadConfig({ env: {}, defaultFile: join(dir, 'absent.yaml'), flags: { config: file } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ where: file, key: '(yaml)' });
    expect(result.issues[0]?.message).toMatch(/alias/i);
  });
});
