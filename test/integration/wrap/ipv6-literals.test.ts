import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preloadRoutesHttp } from './node-proxy-support.js';
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

  /**
   * A Node script that GETs `target` (a URL, or http.get options as a JS literal) and prints the
   * outcome, telling a synchronous throw apart.
   */
  function nodeGet(target: string): string[] {
    const module = target.startsWith('https:') ? 'https' : 'http';
    const argument = target.startsWith('{') ? target : `'${target}'`;
    const script = [
      `try {`,
      `  require('${module}').get(${argument}, (res) => {`,
      `    let body = '';`,
      `    res.on('data', (chunk) => (body += chunk));`,
      `    res.on('end', () => process.stdout.write(res.statusCode + ' ' + (res.headers['x-kaizen-decision'] ?? res.headers['x-kaizen-error'] ?? body)));`,
      `  }).on('error', (e) => process.stdout.write('async error: ' + e.message));`,
      `} catch (e) {`,
      `  process.stdout.write('sync throw: ' + e.message);`,
      `}`,
    ].join('\n');
    return ['node', '-e', script];
  }

  it('node http.get to [::1] goes directly, without a synchronous throw in the child', async () => {
    const before = served;
    const run = await wrapped(nodeGet(loopbackUrl));
    expect(run).toMatchObject({ code: 0, stdout: '200 direct\n' });
    expect(run.seen).toEqual([]);
    expect(served).toBe(before + 1);
  });

  it("node http.get to another IPv6 literal goes through the proxy and reads its answer", async () => {
    const run = await wrapped(nodeGet('http://[2001:db8::1]/x'));
    expect(run).toMatchObject({ code: 0, stdout: '403 block' });
    expect(run.seen).toEqual([{ kind: 'http', target: '[2001:db8::1]:80', decision: 'block' }]);
  });

  it('node https.get to an IPv6 literal fails asynchronously, never with a synchronous throw', async () => {
    const run = await wrapped(nodeGet('https://[2001:db8::1]/'));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^async error: /);
  });

  it('a request whose routing decision throws goes to the proxy, not around it (the preload)', async () => {
    const run = await wrapped(nodeGet(`{ hostname: 'bad host', path: '/x' }`));
    if (preloadRoutesHttp()) {
      // global-agent cannot make a URL of this host name: its decision throws, and the request
      // goes through the proxy, which refuses it.
      expect(run).toMatchObject({ code: 0, stdout: '400 KZP_ERR_BAD_REQUEST' });
    } else {
      // Node's own proxy support decides (the preload leaves http alone): whatever it does, the
      // request reaches nothing.
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^(sync throw|async error): /);
    }
  });
});
