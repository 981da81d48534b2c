import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, serveUntilListening, tempDir, writeFile } from './cli-process.js';

/**
 * The bytes of the configuration file, before any YAML: a file past the size cap is refused
 * without being parsed (a 16 MB file used to hold the main thread for 17 s and 1.7 GB).
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
