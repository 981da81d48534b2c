import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { OPEN_LOOPBACK, readSummary, runWrapper } from './run-wrapper.js';
import { ORIGIN_HOST, startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

/**
 * Wrap mode with intercept.hosts: the children trust the interception CA through the variables
 * wrap mode sets (no --cacert, no code change), and the proxy sees the requests inside HTTPS.
 */
describe('wrap mode with TLS interception', () => {
  let dir: string;
  let config: string;
  let originCa: TestCa;
  let origin: WrapOrigin;
  let runs = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-intercept-'));
    await initCa(join(dir, 'certs'), { name: 'kaizen-proxy wrap test CA', days: 2, force: false });
    originCa = await createTestCa([ORIGIN_HOST]);
    origin = await startWrapOrigin({ tls: { cert: originCa.certPem, key: originCa.keyPem } });
    config = join(dir, 'kaizen-proxy.yaml');
    await writeFile(
      config,
      [
        `intercept: {ca_dir: "${join(dir, 'certs')}", hosts: ["${ORIGIN_HOST}"], upstream_ca: "${originCa.caFile}"}`,
        'tools:',
        `  - {match: "GET ${ORIGIN_HOST}/hello", tool: say_hello, publisher: example}`,
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await origin.close();
    await originCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  async function wrapped(command: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string; seen: { kind: string; target: string }[] }> {
    const summary = join(dir, `summary-${++runs}.json`);
    const run = await runWrapper(['-c', config, ...OPEN_LOOPBACK, '--summary-json', summary, '--', ...command]);
    const document = await readSummary(summary);
    return { ...run, seen: document.destinations.map(({ kind, target }) => ({ kind, target })) };
  }

  it('Node fetch (NODE_EXTRA_CA_CERTS): the request inside the tunnel is a tool_call', async () => {
    const script = 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e.cause ?? e); process.exit(1); })';
    const run = await wrapped([process.execPath, '-e', script, `${origin.url}/hello`]);
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expect(run.seen).toEqual(expect.arrayContaining([{ kind: 'connect', target: origin.target }, { kind: 'tool_call', target: origin.target }]));
  });

  it('a relative ca_dir reaches the child as an absolute path: Node started after a cd still trusts the CA', async () => {
    const relative = join(dir, 'relative.yaml');
    await writeFile(relative, `intercept: {ca_dir: certs, hosts: ["${ORIGIN_HOST}"], upstream_ca: "${originCa.caFile}"}\n`);
    await mkdir(join(dir, 'sub'), { recursive: true });
    const script = 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e.cause ?? e); process.exit(1); })';
    const command = ['sh', '-c', 'cd sub && exec "$0" -e "$1" "$2"', process.execPath, script, `${origin.url}/hello`];
    const run = await runWrapper(['-c', relative, ...OPEN_LOOPBACK, '--', ...command], { cwd: dir, env: { NODE_EXTRA_CA_CERTS: undefined, DENO_CERT: undefined } });
    expect(run.stderr).not.toContain('Ignoring extra certs');
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
  });

  it('curl and python3 without any CA option (the replacing variables point at the combined bundle)', async () => {
    const curl = await wrapped(['curl', '-sS', '-f', `${origin.url}/hello`]);
    expect(curl).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    const python = await wrapped(['python3', '-c', 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())', `${origin.url}/hello`]);
    expect(python).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
    expect(python.seen).toContainEqual({ kind: 'tool_call', target: origin.target });
  });

  it("wget (GnuTLS: it ignores SSL_CERT_FILE) through a WGETRC that keeps the user's ~/.wgetrc byte for byte", async () => {
    // The user's settings must survive: output_document = - puts the body on stdout, quiet = on
    // silences wget's progress on stderr. Without them wget would write a file named "hello".
    // The header's value holds a Latin-1 byte (0xe4, not UTF-8): the origin must get it as is.
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.wgetrc'), Buffer.from('output_document = -\nquiet = on\nheader = X-Name: p\xe4ss\n', 'latin1'));
    const run = await runWrapper(['-c', config, ...OPEN_LOOPBACK, '--', 'wget', `${origin.url}/hello`, `${origin.url}/x-name`], { cwd: home, env: { HOME: home, WGETRC: undefined } });
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n70e47373\n' });
    // quiet = on: nothing from wget, only the wrapper's own lines (the test CA expires soon).
    expect(run.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('kaizen-proxy: '))).toEqual([]);
  });

  it("wget with the user's own $WGETRC: its settings are kept too", async () => {
    const own = join(dir, 'own-wgetrc');
    await writeFile(own, 'output_document = -\n');
    const run = await runWrapper(['-c', config, ...OPEN_LOOPBACK, '--', 'wget', '-q', `${origin.url}/hello`], { cwd: dir, env: { WGETRC: own } });
    expect(run).toMatchObject({ code: 0, stdout: 'hello from origin\n' });
  });

  it('an unusable CA stops the wrapper before the command runs, with its code', async () => {
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, `intercept: {ca_dir: "${join(dir, 'nowhere')}", hosts: ["${ORIGIN_HOST}"]}\n`);
    const run = await runWrapper(['-c', broken, '--', 'node', '-e', 'process.stdout.write("ran")']);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('KZP_ERR_CA_UNREADABLE');
  });
});
