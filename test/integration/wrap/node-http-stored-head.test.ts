import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPEN_LOOPBACK, readSummary, runWrapper } from './run-wrapper.js';
import { startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

/**
 * node:http writes a request's head when it is built, before the agent sees the request, when the
 * request has an `Expect` header (the AWS SDK sends `Expect: 100-continue` with large uploads) or
 * its headers as an array. The preload's global-agent turns the path into the absolute form a
 * proxy needs after that, so the head would still carry the origin-form path: the proxy refuses
 * such a request (400 KZP_ERR_ORIGIN_FORM) where a direct one succeeds. Both must reach the origin.
 */
describe('wrap mode: node:http requests whose head is written at once', () => {
  let origin: WrapOrigin;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-stored-head-'));
    origin = await startWrapOrigin();
  });

  afterAll(async () => {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('Expect: 100-continue and array headers go through the proxy, absolute-form, and are answered', async () => {
    const file = join(dir, 'agent.cjs');
    await writeFile(
      file,
      [
        `const http = require('node:http');`,
        `const body = Buffer.alloc(300000, 7);`,
        `function answer(req) { return new Promise((resolve, reject) => { req.on('response', (res) => { let s = ''; res.on('data', (c) => (s += c)); res.on('end', () => resolve(res.statusCode + ' ' + s)); }); req.on('error', reject); }); }`,
        `(async () => {`,
        `  const put = http.request('${origin.url}/hello', { method: 'PUT', headers: { Expect: '100-continue', 'Content-Length': body.length } });`,
        `  put.on('continue', () => put.end(body));`,
        `  const first = await answer(put);`,
        `  const get = http.request('${origin.url}/hello', { headers: ['X-Agent', 'a'] });`,
        `  get.end();`,
        `  process.stdout.write(first + await answer(get));`,
        `})().catch((error) => { process.stdout.write('error ' + error.message); process.exitCode = 1; });`,
      ].join('\n'),
    );
    const summary = join(dir, 'summary.json');
    const run = await runWrapper([...OPEN_LOOPBACK, '--summary-json', summary, '--', 'node', file]);
    expect(run).toMatchObject({ code: 0, stdout: '200 hello from origin\n200 hello from origin\n' });
    expect(origin.requests).toEqual(['PUT /hello', 'GET /hello']);
    const { destinations, refused } = await readSummary(summary);
    expect(destinations.map(({ kind, target, allowed }) => ({ kind, target, allowed }))).toEqual([{ kind: 'http', target: origin.target, allowed: 2 }]);
    expect(refused).toEqual([]);
  });
});
