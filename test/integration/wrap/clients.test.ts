import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchActionKind } from './node-proxy-support.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { OPEN_LOOPBACK, readSummary, runWrapper, type WrapperRun } from './run-wrapper.js';
import { startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

/** Real clients as wrapped children: each must reach the origin through the proxy. */
describe('wrap mode with real clients', () => {
  let origin: WrapOrigin;
  let tlsOrigin: WrapOrigin;
  let ca: TestCa;
  let dir: string;
  let runs = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-clients-'));
    // The wrap origins listen on 127.0.0.2 (NO_PROXY keeps 127.0.0.1 off the proxy): the leaf names it.
    ca = await createTestCa(['127.0.0.2']);
    origin = await startWrapOrigin();
    tlsOrigin = await startWrapOrigin({ tls: { cert: ca.certPem, key: ca.keyPem } });
  });

  afterAll(async () => {
    await origin.close();
    await tlsOrigin.close();
    await ca.remove();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `command` wrapped; returns its run and the destinations the proxy saw. */
  async function wrapped(command: readonly string[]): Promise<WrapperRun & { seen: { kind: string; target: string; allowed: number }[] }> {
    const summary = join(dir, `summary-${++runs}.json`);
    const run = await runWrapper([...OPEN_LOOPBACK, '--summary-json', summary, '--', ...command]);
    const document = await readSummary(summary);
    return { ...run, seen: document.destinations.map(({ kind, target, allowed }) => ({ kind, target, allowed })) };
  }

  /** Every request went through the proxy as a plain http request (absolute-form), and was allowed. */
  function expectThroughProxy(run: { seen: { kind: string; target: string; allowed: number }[] }, target: string, requests = 1): void {
    expect(run.seen).toEqual([{ kind: 'http', target, allowed: requests }]);
  }

  it('curl (http, absolute-form through http_proxy)', async () => {
    const run = await wrapped(['curl', '-sS', '-f', `${origin.url}/hello`]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expect(run.seen).toEqual([{ kind: 'http', target: origin.target, allowed: 1 }]);
  });

  it('curl (https, CONNECT through HTTPS_PROXY)', async () => {
    const run = await wrapped(['curl', '-sS', '-f', '-k', `${tlsOrigin.url}/hello`]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expect(run.seen).toEqual([{ kind: 'connect', target: tlsOrigin.target, allowed: 1 }]);
  });

  it('wget (lower-case variables only)', async () => {
    const run = await wrapped(['wget', '-q', '-O', '-', `${origin.url}/hello`]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expectThroughProxy(run, origin.target);
  });

  it('python3 urllib', async () => {
    const script = `import urllib.request; print(urllib.request.urlopen('${origin.url}/hello').read().decode(), end='')`;
    const run = await wrapped(['python3', '-c', script]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expectThroughProxy(run, origin.target);
  });

  it('python3 requests (Debian python3-requests; .ci/run installs it)', async () => {
    const script = `import requests; print(requests.get('${origin.url}/hello').text, end='')`;
    const run = await wrapped(['/usr/bin/python3', '-c', script]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expectThroughProxy(run, origin.target);
  });

  it('node -e fetch on this Node (the preload on Node 20, built-in support on 22.21+ and 24+)', async () => {
    const run = await wrapped(['node', '-e', `fetch('${origin.url}/hello').then((r) => r.text()).then((t) => process.stdout.write(t))`]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expect(run.seen).toEqual([{ kind: fetchActionKind(), target: origin.target, allowed: 1 }]);
  });

  it('node -e http.get on this Node (through the preload)', async () => {
    const script = `require('http').get('${origin.url}/hello', (res) => res.pipe(process.stdout))`;
    const run = await wrapped(['node', '-e', script]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expectThroughProxy(run, origin.target);
  });

  it('an ESM entry point (.mjs) using fetch and node:http', async () => {
    const file = join(dir, 'agent.mjs');
    await writeFile(
      file,
      [
        `import { get } from 'node:http';`,
        `const viaFetch = await (await fetch('${origin.url}/hello')).text();`,
        `const viaHttp = await new Promise((resolve) => get('${origin.url}/hello', (res) => { let s = ''; res.on('data', (c) => (s += c)); res.on('end', () => resolve(s)); }));`,
        `process.stdout.write(viaFetch + viaHttp);`,
      ].join('\n'),
    );
    const run = await wrapped(['node', file]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\nhello from origin\n' });
    if (fetchActionKind() === 'http') {
      expectThroughProxy(run, origin.target, 2);
    } else {
      expect(run.seen).toEqual(
        expect.arrayContaining([
          { kind: 'connect', target: origin.target, allowed: 1 },
          { kind: 'http', target: origin.target, allowed: 1 },
        ]),
      );
      expect(run.seen).toHaveLength(2);
    }
  });

  it('a CJS entry point (.cjs) using https.get with its own CA', async () => {
    const file = join(dir, 'agent.cjs');
    await writeFile(
      file,
      [
        `const https = require('node:https');`,
        `const ca = require('node:fs').readFileSync(${JSON.stringify(ca.caFile)});`,
        // An IP host sends no SNI, so the tunnel passes the SNI check; the certificate names 127.0.0.2.
        `https.get('${tlsOrigin.url}/hello', { ca }, (res) => res.pipe(process.stdout));`,
      ].join('\n'),
    );
    const run = await wrapped(['node', file]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expect(run.seen).toEqual([{ kind: 'connect', target: tlsOrigin.target, allowed: 1 }]);
  });
});

