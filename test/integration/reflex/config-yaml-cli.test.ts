import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, serveUntilListening, tempDir, writeFile } from './cli-process.js';

/**
 * YAML the parser reads but the configuration does not take: merge keys (`<<`, a YAML 1.1 feature)
 * are refused with a plain message, and what the parser only warns about (an unknown tag, an
 * unknown directive) is an error at its line, not a value silently taken as plain text.
 */
const INVALID = 'kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n';
const NO_MERGE = 'YAML merge keys (<<) are not supported: write the keys out';
let dir: string;

beforeAll(() => {
  dir = tempDir();
});

describe('YAML merge keys', () => {
  it('are refused at the line of each <<, in YAML 1.2 and under a %YAML 1.1 directive, by check-config and serve', async () => {
    const policy = ['policies:', '  - &base', '    name: one', '    mode: blocklist', '    rules: { domains: [a.example] }', '  - <<: *base', '    name: two'];
    const plain = writeFile(dir, 'merge.yaml', ['admin: off', ...policy, 'cache:', '  <<: { allow_ttl: 1m }', ''].join('\n'));
    const checked = await runCli(['check-config', plain]);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toBe(`${INVALID}${plain}:7: (yaml): ${NO_MERGE}\n${plain}:10: (yaml): ${NO_MERGE}\n`);

    // Under %YAML 1.1 the parser would merge them itself, silently.
    const v11 = writeFile(dir, 'merge-1.1.yaml', ['%YAML 1.1', '---', 'admin: "off"', ...policy, ''].join('\n'));
    const served = await serveUntilListening(['--listen', '127.0.0.1:0', '-c', v11]);
    expect(served.listened).toBe(false);
    expect(served.code).toBe(1);
    expect(served.stderr).toBe(`${INVALID}${v11}:9: (yaml): ${NO_MERGE}\n`);
  });

  it('leave a quoted "<<" an unknown key like any other', async () => {
    const file = writeFile(dir, 'quoted.yaml', 'admin: off\ncache:\n  "<<": 1\n');
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${INVALID}${file}:3: cache.<<: Unrecognized key: "<<"; see the README for the keys\n`);
  });
});

describe('what the YAML parser only warns about', () => {
  it('is a configuration error at its line: an unresolved tag, an unknown directive or YAML version', async () => {
    const cases = [
      ['tag.yaml', 'admin: off\ncache:\n  allow_ttl: !foo 1m\n', '3: (yaml): Unresolved tag: !foo'],
      ['directive.yaml', '%FOO bar\n---\nadmin: off\n', '1: (yaml): Unknown directive %FOO'],
      ['version.yaml', '%YAML 1.3\n---\nadmin: off\n', '1: (yaml): Unsupported YAML version 1.3'],
    ] as const;
    for (const [name, text, issue] of cases) {
      const file = writeFile(dir, name, text);
      const result = await runCli(['check-config', file]);
      expect(result.code, name).toBe(1);
      expect(result.stdout, name).toBe('');
      expect(result.stderr, name).toBe(`${INVALID}${file}:${issue}\n`);
    }
  });

  it('leaves the tags of the core schema alone', async () => {
    const file = writeFile(dir, 'core-tags.yaml', 'admin: off\nagent: !!str 42\ncache:\n  allow_ttl: !!str 1m\n');
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ agent: '42', cache: { allowTtlMs: 60_000 } });
  });
});
