import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSummary, runWrapper, type WrapperRun } from './run-wrapper.js';

/**
 * URLs with an IPv6 literal host in wrapped children: `[::1]` is loopback and stays direct like
 * 127.0.0.1; any other IPv6 literal goes through the proxy, and never crashes the child.
 */
describe('wrap mode with IPv6 literal URLs', () => {
  let dir: string;
  let server: Server;
  let loopbackUrl: string;
  let served = 0;
  let runs = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-ipv6-'));
    server = createServer((req, res) => {
      served++;
      req.resume();
      res.end('direct\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    loopbackUrl = `http://[::1]:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `command` wrapped; returns its run and the destinations the proxy saw. */
  async function wrapped(command: readonly string[]): Promise<WrapperRun & { seen: { kind: string; target: string; decision: string }[] }> {
    const summary = join(dir, `summary-${++runs}.json`);
    const run = await runWrapper(['--summary-json', summary, '--', ...command]);
    const document = await readSummary(summary);
    return { ...run, seen: document.destinations.map(({ kind, target, decision }) => ({ kind, target, decision })) };
  }

  it('python3 urllib reaches a server on [::1] directly', async () => {
    const before = served;
    const run = await wrapped(['python3', '-c', `import urllib.request; print(urllib.request.urlopen('${loopbackUrl}').read().decode(), end='')`]);
    expect(run).toMatchObject({ code: 0, stdout: 'direct\n' });
    expect(run.seen).toEqual([]);
    expect(served).toBe(before + 1);
  });

  it('node fetch reaches a server on [::1] directly', async () => {
    const before = served;
    const run = await wrapped(['node', '-e', `fetch('${loopbackUrl}').then((r) => r.text()).then((t) => process.stdout.write(t))`]);
    expect(run).toMatchObject({ code: 0, stdout: 'direct\n' });
    expect(run.seen).toEqual([]);
    expect(served).toBe(before + 1);
  });
});
