import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { OPEN_LOOPBACK, readSummary, runWrapper } from './run-wrapper.js';
import { startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

/** What the operator gets back: a table, a JSON file, a log file, and a clean stdout. */
describe('wrap mode summary and logs', () => {
  let origin: WrapOrigin;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-summary-'));
    origin = await startWrapOrigin();
  });

  afterAll(async () => {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** One allowed request to the origin (plain http.get: absolute-form), two refused ones. */
  function agentScript(): string {
    return [
      `const http = require('node:http');`,
      `const get = (url) => new Promise((resolve) => http.get(url, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); }).on('error', () => resolve(0)));`,
      `(async () => {`,
      `  const codes = [await get('${origin.url}/hello'), await get('http://169.254.169.254/a'), await get('http://169.254.169.254/b')];`,
      `  process.stdout.write(codes.join(',') + '\\n');`,
      `})();`,
    ].join('\n');
  }

  it('prints a table on stderr with --summary, blocked destinations first', async () => {
    const run = await runWrapper([...OPEN_LOOPBACK, '--summary', '--', 'node', '-e', agentScript()]);
    expect(run).toMatchObject({ code: 0, stdout: '200,403,403\n' });
    const lines = run.stderr.trimEnd().split('\n');
    const table = lines.slice(lines.findIndex((line) => line.startsWith('kaizen-proxy: agent node:')));
    expect(table[0]).toBe('kaizen-proxy: agent node: 2 destinations, 1 blocked');
    expect(table[1]).toMatch(/^ {2}DECISION\s+KIND\s+DESTINATION\s+COUNT\s+SENT\s+RECEIVED\s+REASON$/);
    expect(table[2]).toMatch(/^ {2}block\s+http\s+169\.254\.169\.254:80\s+2 requests\s+\S+ B\s+\S+ B\s+destination 169\.254\.169\.254 is a cloud metadata address$/);
    expect(table[3]).toMatch(new RegExp(`^ {2}allow\\s+http\\s+${origin.target.replaceAll('.', '\\.')}\\s+1 request\\s+\\d+ B\\s+\\d+ B$`));
    expect(table).toHaveLength(4);
  });

  it('writes the same rows as JSON with --summary-json, and no table without --summary', async () => {
    const file = join(dir, 'summary.json');
    const run = await runWrapper([...OPEN_LOOPBACK, '--summary-json', file, '--agent', 'billing-bot', '--', 'node', '-e', agentScript()]);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('DESTINATION');
    const document = await readSummary(file);
    expect(document).toMatchObject({ agent: 'billing-bot', exit_code: 0, signal: null });
    expect(document.destinations).toHaveLength(2);
    expect(document.destinations[0]).toMatchObject({
      kind: 'http',
      target: '169.254.169.254:80',
      decision: 'block',
      count: 2,
      allowed: 0,
      blocked: 2,
      reason: 'destination 169.254.169.254 is a cloud metadata address',
    });
    const allowed = document.destinations[1];
    expect(allowed).toMatchObject({ kind: 'http', target: origin.target, decision: 'allow', count: 1, allowed: 1, blocked: 0, reason: null });
    expect(allowed?.bytes_down).toBeGreaterThanOrEqual('hello from origin\n'.length);
  });

  it('keeps stdout for the child: proxy logs go to --log-file, blocks to stderr as one short line each', async () => {
    const log = join(dir, 'proxy.log');
    const run = await runWrapper([...OPEN_LOOPBACK, '--log-file', log, '--', 'node', '-e', agentScript()]);
    expect(run.stdout).toBe('200,403,403\n');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      'kaizen-proxy: blocked http 169.254.169.254:80: destination 169.254.169.254 is a cloud metadata address',
      'kaizen-proxy: blocked http 169.254.169.254:80: destination 169.254.169.254 is a cloud metadata address',
    ]);
    const lines = (await readFile(log, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line['msg'] === 'listening')).toBeDefined();
    const decisions = lines.filter((line) => line['msg'] === 'decision');
    expect(decisions.map((line) => [line['agent'], line['target'], line['decision']])).toEqual([
      ['node', origin.target, 'allow'],
      ['node', '169.254.169.254:80', 'block'],
      ['node', '169.254.169.254:80', 'block'],
    ]);
    expect(lines.at(-1)?.['msg']).toBe('stopped');
  });

  it('keeps info lines off stderr after a warning: the warning is a short line there, the rest goes to --log-file', async () => {
    const log = join(dir, 'proxy-fail-open.log');
    const run = await runWrapper([...OPEN_LOOPBACK, '--fail', 'open', '--log-file', log, '--', 'node', '-e', agentScript()]);
    expect(run.stdout).toBe('200,403,403\n');
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      'kaizen-proxy: warn: fail mode is open: when no verdict can be obtained, connections are allowed',
      'kaizen-proxy: blocked http 169.254.169.254:80: destination 169.254.169.254 is a cloud metadata address',
      'kaizen-proxy: blocked http 169.254.169.254:80: destination 169.254.169.254 is a cloud metadata address',
    ]);
    const messages = (await readFile(log, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.filter((msg) => msg === 'decision')).toHaveLength(3);
  });

  it('says nothing of the descriptor budget on the command\'s terminal, under prlimit --nofile=160:160', async () => {
    const run = await runWrapper([...OPEN_LOOPBACK, '--', 'node', '-e', agentScript()], { nofile: 160 });
    expect(run).toMatchObject({ code: 0, stdout: '200,403,403\n' });
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      'kaizen-proxy: blocked http 169.254.169.254:80: destination 169.254.169.254 is a cloud metadata address',
      'kaizen-proxy: blocked http 169.254.169.254:80: destination 169.254.169.254 is a cloud metadata address',
    ]);
  });

  it('names the agent after KAIZEN_AGENT when set, else the command', async () => {
    const file = join(dir, 'agent.json');
    await runWrapper(['--summary-json', file, '--', 'node', '-e', '0'], { env: { KAIZEN_AGENT: 'from-env' } });
    expect((await readSummary(file)).agent).toBe('from-env');
    await runWrapper(['--summary-json', file, '--', process.execPath, '-e', '0']);
    expect((await readSummary(file)).agent).toBe('node');
  });

  it('counts the bytes of a short-lived client\'s tunnel in every run', async () => {
    // The tunnel's closed event used to come after the proxy's close had resolved, so the summary
    // was written without it: 0 B / 0 B in most runs of a quick curl.
    const ca: TestCa = await createTestCa(['127.0.0.2']);
    const tlsOrigin = await startWrapOrigin({ tls: { cert: ca.certPem, key: ca.keyPem } });
    try {
      const counted: { up: number; down: number }[] = [];
      for (let run = 0; run < 10; run++) {
        const file = join(dir, `tunnel-${String(run)}.json`);
        const wrapped = await runWrapper([...OPEN_LOOPBACK, '--summary-json', file, '--', 'curl', '-sS', '-f', '-o', '/dev/null', '--cacert', ca.caFile, `${tlsOrigin.url}/hello`]);
        expect(wrapped.code).toBe(0);
        const tunnel = (await readSummary(file)).destinations.find((row) => row.kind === 'connect');
        counted.push({ up: tunnel?.bytes_up ?? -1, down: tunnel?.bytes_down ?? -1 });
      }
      expect(counted.filter(({ up, down }) => up <= 0 || down <= 0)).toEqual([]);
    } finally {
      await tlsOrigin.close();
      await ca.remove();
    }
  });

  it('does not say that nothing went through the proxy when every client reached it and was refused', async () => {
    // An origin-form request sent straight to the proxy is refused (400) before any decision.
    const run = await runWrapper(['--summary', '--', 'sh', '-c', 'curl -s --noproxy "*" -o /dev/null -w "%{http_code}" "$HTTP_PROXY/origin"']);
    expect(run).toMatchObject({ code: 0, stdout: '400' });
    expect(run.stderr).toBe(
      'kaizen-proxy: agent sh: 1 client reached the proxy and was refused before any decision\n' +
        'kaizen-proxy: 1 client refused before any decision: origin_form (KZP_ERR_ORIGIN_FORM)\n',
    );
  });

  it('says so when nothing went through the proxy', async () => {
    const run = await runWrapper(['--summary', '--', 'node', '-e', '0']);
    expect(run.stderr).toBe('kaizen-proxy: agent node: no traffic went through the proxy (programs that ignore proxy variables are not covered)\n');
  });
});
