import { execFileSync } from 'node:child_process';
import { closeSync, constants, linkSync, openSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { cleanEnv, startServe, tempDir, writeFile, type ServeProcess } from './cli-process.js';

/**
 * A running proxy read its configuration file with a blocking open(2) on the main thread, to
 * digest it when the file or its folder changed, and to reload it. A FIFO put in the file's place
 * (or named with --config at start) held that open until some process opened the FIFO to write:
 * the proxy answered nobody meanwhile, not even SIGTERM. A running proxy now opens the file
 * without waiting and refuses what is not a regular file, its running configuration kept.
 */
const CONFIG = ['admin: off', 'network: { allow_private: [127.0.0.0/8] }', 'policies:', '  - name: no-loopback', '    mode: blocklist', '    rules: { ips: [127.0.0.0/8] }'];

let origin: Origin | undefined;
let serve: ServeProcess | undefined;
/** Unfixed, the proxy waits inside open(2) of the FIFO for a writer: put a file back and give it one, so it can stop. */
let release: (() => void) | undefined;

afterEach(async () => {
  release?.();
  if (serve !== undefined) expect(await serve.stop()).toBe(0);
  await origin?.close();
  serve = undefined;
  origin = undefined;
  release = undefined;
});

async function connectStatus(proxy: ServeProcess, port: number): Promise<number> {
  const client = await RawClient.open(proxy.port);
  client.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  const response = await client.readResponse({ bodiless: true });
  client.destroy();
  return response.status;
}

describe('configuration file replaced by a FIFO', () => {
  it('refuses the reload without waiting on the FIFO, and keeps serving on the running configuration', async () => {
    origin = await startOrigin();
    const dir = tempDir();
    const file = writeFile(dir, 'kaizen-proxy.yaml', CONFIG.join('\n'));
    serve = await startServe(['--listen', '127.0.0.1:0', '--config', file], cleanEnv(), dir);
    expect(await connectStatus(serve, origin.port)).toBe(403);

    // Made beside the file, then renamed over it (an editor's or a deploy's replace): the watched folder sees it.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const kept = join(dir, 'fifo-kept');
    linkSync(fifo, kept);
    release = () => {
      renameSync(writeFile(dir, 'again.yaml', CONFIG.join('\n')), file);
      try {
        closeSync(openSync(kept, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // No reader waiting (ENXIO): nothing to release.
      }
    };
    renameSync(fifo, file);
    const refused = await serve.waitFor((line) => line['msg'] === 'configuration reload refused: keeping the running configuration', 5000);
    expect(refused).toMatchObject({ trigger: 'file change', code: 'KZP_ERR_CONFIG_READ' });
    expect(String(refused['issues'])).toContain('not a regular file');
    expect(await connectStatus(serve, origin.port)).toBe(403);

    // SIGHUP reads it too.
    const seen = serve.lines.length;
    serve.child.kill('SIGHUP');
    const again = await serve.waitFor((line) => line['trigger'] === 'SIGHUP' && (serve?.lines.indexOf(line) ?? 0) >= seen, 5000);
    expect(again).toMatchObject({ code: 'KZP_ERR_CONFIG_READ' });
    expect(await connectStatus(serve, origin.port)).toBe(403);
  });
});
