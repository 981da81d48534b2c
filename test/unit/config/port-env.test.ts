import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';

/** PORT changes the file's port only: a file `listen` that is not HOST:PORT still fails, at its line. */
const dir = mkdtempSync(join(tmpdir(), 'kzp-port-env-'));

function load(text: string) {
  const file = join(dir, 'listen.yaml');
  writeFileSync(file, text);
  return { file, result: loadConfig({ env: { PORT: '7100' }, defaultFile: join(dir, 'absent.yaml'), flags: { config: file } }) };
}

describe('PORT over the file listen', () => {
  it('does not hide an invalid file listen: the error names the file line', () => {
    const { file, result } = load('agent: a\nlisten: not-a-host-port\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]).toMatchObject({ where: `${file}:2`, key: 'listen' });
    expect(result.issues[0]?.message).toContain('"not-a-host-port"');

    const { result: good } = load('listen: "[::1]:9000"\n');
    expect(good.ok && good.config.listen).toEqual({ host: '::1', port: 7100 });
  });
});
