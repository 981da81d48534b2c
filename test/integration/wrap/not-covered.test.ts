import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_LOOPBACK, readSummary, runWrapper } from './run-wrapper.js';
import { ORIGIN_HOST, startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

/**
 * Wrap mode works through proxy variables and a preload. A program that opens raw sockets never
 * asks the proxy: it is not covered, and the summary shows the proxy saw nothing (README, Wrap mode).
 */
describe('wrap mode limits', () => {
  let origin: WrapOrigin;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-limits-'));
    origin = await startWrapOrigin();
  });

  afterAll(async () => {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a child using net.connect reaches the origin directly; the proxy sees nothing', async () => {
    const file = join(dir, 'summary.json');
    const script = [
      `const socket = require('node:net').connect(${origin.port}, '${ORIGIN_HOST}', () => socket.write('GET /hello HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n'));`,
      `let text = ''; socket.on('data', (c) => (text += c)); socket.on('end', () => process.stdout.write(text.split('\\r\\n\\r\\n')[1]));`,
    ].join('\n');
    const run = await runWrapper([...OPEN_LOOPBACK, '--summary', '--summary-json', file, '--', 'node', '-e', script]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expect(origin.requests).toEqual(['GET /hello']);
    expect((await readSummary(file)).destinations).toEqual([]);
    expect(run.stderr).toContain('no traffic went through the proxy');
  });
});
