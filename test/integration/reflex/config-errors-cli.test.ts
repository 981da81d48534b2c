import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aliasBomb } from '../../helpers/alias-bomb.js';
import { runCli, tempDir, writeFile } from './cli-process.js';

/** Configuration errors through the built CLI: each command's exit code, the stable code, the file. */
describe('configuration errors from the CLI', () => {
  it('an alias bomb is a configuration error for serve (1), check-config (1) and check (2), not a crash', async () => {
    const file = writeFile(tempDir(), 'bomb.yaml', aliasBomb());
    for (const [args, exit] of [
      [['serve', '-c', file], 1],
      [['check-config', file], 1],
      [['check', 'example.com:443', '-c', file], 2],
    ] as const) {
      const result = await runCli(args);
      expect(result.code, args[0]).toBe(exit);
      expect(result.stderr, args[0]).toContain('KZP_ERR_CONFIG_INVALID');
      expect(result.stderr, args[0]).toContain(`${file}: (yaml): `);
      expect(result.stderr, args[0]).not.toContain('fatal');
      expect(result.stdout, args[0]).not.toContain('listening');
    }
  });

  it('a file named explicitly that cannot be read is KZP_ERR_CONFIG_READ, for each command', async () => {
    const dir = tempDir();
    const keyDir = join(dir, 'key-is-a-directory');
    mkdirSync(keyDir);
    const withKeyDir = writeFile(dir, 'key-dir.yaml', `admin: off\ncontrol_plane: { api_key_file: ${JSON.stringify(keyDir)} }\n`);
    for (const [args, exit, where] of [
      [['serve', '-c', join(dir, 'absent.yaml')], 1, `${join(dir, 'absent.yaml')}: (file): cannot read the configuration file (ENOENT)`],
      [['check-config', dir], 1, `${dir}: (file): cannot read the configuration file (EISDIR)`],
      [['check', 'example.com:443', '-c', withKeyDir], 2, `${withKeyDir}:2: control_plane.api_key_file: cannot read ${keyDir} (EISDIR)`],
    ] as const) {
      const result = await runCli(args);
      expect(result.code, args[0]).toBe(exit);
      expect(result.stderr, args[0]).toBe(`kaizen-proxy: KZP_ERR_CONFIG_READ: cannot read the configuration\n${where}\n`);
    }
  });
});
