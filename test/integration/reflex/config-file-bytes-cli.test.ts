import { execFileSync } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, serveUntilListening, tempDir, writeFile } from './cli-process.js';

/**
 * The bytes of the configuration file, before any YAML: a file past the size cap is refused
 * without being parsed (a 16 MB file used to hold the main thread for 17 s and 1.7 GB), and one
 * that is not UTF-8 is refused naming the line and the byte, not decoded into U+FFFD.
 */
const INVALID = 'kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n';
const CAP = 2 * 1024 * 1024;
let dir: string;

/** `head`, then comment lines up to `bytes`: valid YAML that is quick to parse whatever its size. */
function padded(head: string, bytes: number): string {
  const line = `# ${'x'.repeat(77)}\n`;
  return head + line.repeat(Math.ceil((bytes - head.length) / line.length));
}

beforeAll(() => {
  dir = tempDir();
});

describe('a configuration file past the size cap', () => {
  it('is refused by check-config and serve before any parse, naming the file and its size', async () => {
    // Invalid YAML on line 1: an error about it would mean the file was parsed after all.
    const text = padded('agent: [unclosed\n', CAP + 1);
    const file = writeFile(dir, 'big.yaml', text);
    const expected = `${INVALID}${file}: (file): the file is ${String(text.length)} bytes: a configuration file may hold at most 2 MiB (${String(CAP)} bytes)\n`;
    const checked = await runCli(['check-config', file]);
    expect(checked.code).toBe(1);
    expect(checked.stderr).toBe(expected);
    const served = await serveUntilListening(['--listen', '127.0.0.1:0', '--admin', 'off', '-c', file]);
    expect(served.listened).toBe(false);
    expect(served.code).toBe(1);
    expect(served.stderr).toBe(expected);
  });

  it('is refused from a pipe too, where no size is known before reading', async () => {
    const fifo = join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    const checking = runCli(['check-config', fifo]);
    const writer = createWriteStream(fifo);
    writer.on('error', () => undefined); // EPIPE once the reader has read enough and closed
    writer.end(padded('agent: piped\n', 3 * CAP));
    const result = await checking;
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${INVALID}${fifo}: (file): the file is more than ${String(CAP)} bytes: a configuration file may hold at most 2 MiB (${String(CAP)} bytes)\n`);
  });

  it('accepts a file of exactly the cap', async () => {
    const text = padded('agent: at-the-cap\n', CAP).slice(0, CAP - 1);
    const file = writeFile(dir, 'at-cap.yaml', `${text}\n`);
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ agent: 'at-the-cap' });
  });
});

describe('a configuration file that is not UTF-8', () => {
  it('is refused naming the line and the byte that cannot be decoded, by check-config and serve', async () => {
    const latin1 = join(dir, 'latin1.yaml');
    writeFileSync(latin1, Buffer.concat([Buffer.from('admin: off\n# café is UTF-8\nagent: caf'), Buffer.from([0xe9, 0x0a])]));
    const expected = `${INVALID}${latin1}:3: (file): the file is not UTF-8: byte 0xE9 (offset 38) is not valid there; save it as UTF-8\n`;
    const checked = await runCli(['check-config', latin1]);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toBe('');
    expect(checked.stderr).toBe(expected);
    const served = await serveUntilListening(['--listen', '127.0.0.1:0', '-c', latin1]);
    expect(served.listened).toBe(false);
    expect(served.code).toBe(1);
    expect(served.stderr).toBe(expected);
  });

  it('names a UTF-16 or UTF-32 byte order mark', async () => {
    // `agent: x` in each encoding, after its byte order mark (ASCII only: one unit per character).
    const unit = (width: 2 | 4, littleEndian: boolean) => (code: number): number[] => {
      const zeros = new Array<number>(width - 1).fill(0);
      return littleEndian ? [code, ...zeros] : [...zeros, code];
    };
    const cases = [
      ['UTF-16 LE', [0xff, 0xfe], unit(2, true)],
      ['UTF-16 BE', [0xfe, 0xff], unit(2, false)],
      ['UTF-32 LE', [0xff, 0xfe, 0x00, 0x00], unit(4, true)],
      ['UTF-32 BE', [0x00, 0x00, 0xfe, 0xff], unit(4, false)],
    ] as const;
    for (const [encoding, bom, encode] of cases) {
      const file = join(dir, `${encoding.replace(' ', '-')}.yaml`);
      writeFileSync(file, Buffer.from([...bom, ...[...Buffer.from('agent: x\n')].flatMap(encode)]));
      const result = await runCli(['check-config', file]);
      expect(result.code, encoding).toBe(1);
      const shown = bom.map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(' ');
      expect(result.stderr, encoding).toBe(`${INVALID}${file}:1: (file): the file is ${encoding} (it starts with the byte order mark ${shown}): save it as UTF-8\n`);
    }
  });

  it('still reads UTF-8, with or without a byte order mark, U+FFFD written out included', async () => {
    for (const [name, text] of [
      ['plain.yaml', 'admin: off\nagent: café-\uFFFD\n'],
      ['bom.yaml', '\uFEFFadmin: off\nagent: café-\uFFFD\n'],
    ] as const) {
      const result = await runCli(['check-config', writeFile(dir, name, text)]);
      expect(result.code, name).toBe(0);
      expect(JSON.parse(result.stdout), name).toMatchObject({ agent: 'café-\uFFFD' });
    }
  });
});
