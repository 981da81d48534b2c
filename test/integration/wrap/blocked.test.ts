import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchActionKind } from './node-proxy-support.js';
import { OPEN_LOOPBACK, readSummary, runWrapper } from './run-wrapper.js';

/** A refused destination: the child sees the proxy's 403 and fails, and the operator sees why. */
describe('wrap mode with a blocked destination', () => {
  const METADATA = 'http://169.254.169.254/latest/meta-data/';
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-blocked-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('curl gets 403 and fails; the wrapper exits with curl\'s code and says what was blocked', async () => {
    const run = await runWrapper([...OPEN_LOOPBACK, '--', 'curl', '-sS', '-f', METADATA]);
    expect(run.code).toBe(22);
    expect(run.stderr).toContain('403');
    expect(run.stderr).toContain('kaizen-proxy: blocked http 169.254.169.254:80: destination 169.254.169.254 is a cloud metadata address\n');
  });

  it('a CONNECT to a blocked destination fails the child the same way', async () => {
    const run = await runWrapper(['--', 'curl', '-sS', 'https://169.254.169.254/']);
    expect(run.code).toBe(56);
    expect(run.stderr).toMatch(/CONNECT tunnel failed, response 403/);
    expect(run.stderr).toContain('kaizen-proxy: blocked connect 169.254.169.254:443');
  });

  it("node fetch sees the proxy's 403 where it can, and the operator always sees why", async () => {
    const summary = join(dir, 'fetch.json');
    const script = [
      `fetch('${METADATA}').then(`,
      `  (r) => { process.stdout.write(r.status + ' ' + r.headers.get('x-kaizen-decision')); process.exit(r.ok ? 0 : 4); },`,
      `  (e) => { process.stdout.write('network error: ' + e.message); process.exit(5); });`,
    ].join('\n');
    const run = await runWrapper(['--summary-json', summary, '--', 'node', '-e', script]);
    const document = await readSummary(summary);
    if (fetchActionKind() === 'http') {
      // Node 20 through the preload: plain requests, so the child reads our 403 and its headers.
      expect(run).toMatchObject({ code: 4, stdout: '403 block' });
    } else {
      // Node's own proxy support tunnels http:// too; a refused CONNECT reaches fetch as a network
      // error, so the wrapper's stderr is where the operator reads why.
      expect(run).toMatchObject({ code: 5 });
      expect(run.stderr).toContain('kaizen-proxy: blocked connect 169.254.169.254:80: destination 169.254.169.254 is a cloud metadata address');
    }
    expect(document.destinations[0]).toMatchObject({ kind: fetchActionKind(), target: '169.254.169.254:80', decision: 'block', blocked: 1 });
  });
});
