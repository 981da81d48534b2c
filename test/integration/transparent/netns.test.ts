import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa } from '../../../src/intercept/ca-create.js';
import { AGENT_ADDRESS, asUid, createNetnsWorld, netnsSupport, proxyUidIn, type NetnsWorld } from './netns-world.js';
import { WORLD_ORIGIN_SOURCE } from './world-origin.js';

// Transparent mode for real: the shipped iptables script inside a network namespace made here,
// the proxy as one UID, curl as another. Checks that the agent's plain and TLS connections are
// captured, decided, forwarded or refused, that unrecoverable ones are refused with a reason, and
// that the proxy's own connections are not redirected back to it; and that TLS to a host in
// intercept.hosts is opened and its requests decided one by one, as a CONNECT to it would be.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli.js');
const SCRIPT = join(ROOT, 'config/iptables/kaizen-redirect.sh');
const AGENT_UID = '1000';
const PORT = '15001';
const HOSTS = { 'allowed.test': '203.0.113.2', 'blocked.test': '203.0.113.3', 'secret.test': '203.0.113.2', 'files.hastebin.com': '203.0.113.2' };
/** Intercepted, with a tool route on /secret that a local policy blocks (on the proxy port: 403). */
const PROXY_CONFIG = (dir: string): string => `intercept:
  ca_dir: ${join(dir, 'ca')}
  hosts: [secret.test]
  upstream_ca: ${join(dir, 'cert.pem')}
tools:
  - {match: "GET secret.test/secret", tool: read_secret}
policies:
  - name: no-secret
    mode: blocklist
    rules:
      skill_patterns: [read_secret]
  - name: no-paste-publisher
    mode: blocklist
    rules:
      publishers: [hastebin]
`;

const unsupported = await netnsSupport();

type Line = Record<string, unknown>;

/** Collects a child's JSON lines and waits for one that matches. */
class Lines {
  readonly lines: Line[] = [];
  #waiters: { match: (line: Line) => boolean; resolve: (line: Line) => void }[] = [];
  #buffer = '';
  constructor(child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#buffer += chunk;
      const parts = this.#buffer.split('\n');
      this.#buffer = parts.pop() ?? '';
      for (const text of parts) {
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Line;
        this.lines.push(line);
        for (const waiter of this.#waiters.filter((w) => w.match(line))) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
  }

  waitFor(match: (line: Line) => boolean, timeoutMs = 15_000): Promise<Line> {
    const found = this.lines.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out; lines so far: ${JSON.stringify(this.lines.slice(-20))}`));
      }, timeoutMs);
      this.#waiters.push({ match, resolve: (line) => {
        clearTimeout(timer);
        resolve(line);
      } });
    });
  }
}

describe('transparent mode in network namespaces (iptables REDIRECT)', () => {
  // Root, iproute2, iptables and setpriv are requirements (.ci/run installs them), not reasons to skip.
  it('has what it needs: root, ip netns, iptables nat, setpriv', () => {
    expect(unsupported).toBeNull();
  });

  let world: NetnsWorld;
  let dir: string;
  let proxyUid: string;
  let origin: ChildProcess;
  let proxy: ChildProcess;
  let originLines: Lines;
  let proxyLines: Lines;
  /** The proxy port, http://127.0.0.1:PORT (loopback: never redirected). */
  let proxyUrl: string;

  /** curl run by the agent's UID inside the agent namespace. */
  const curlAs = (uid: string, args: readonly string[]) =>
    world.exec(world.agent, asUid(uid, ['curl', '-sS', '--max-time', '10', ...args]));
  const curl = (args: readonly string[]) => curlAs(AGENT_UID, args);

  beforeAll(async () => {
    if (unsupported !== null) throw new Error(`cannot run: ${unsupported}`);
    world = await createNetnsWorld(`t${process.pid % 10_000}`, HOSTS);
    dir = mkdtempSync(join(tmpdir(), 'kzp-netns-'));
    chmodSync(dir, 0o755);
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=kaizen netns test',
      '-addext', 'subjectAltName=DNS:allowed.test,DNS:blocked.test,DNS:secret.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    chmodSync(join(dir, 'cert.pem'), 0o644);
    writeFileSync(join(dir, 'origin.mjs'), WORLD_ORIGIN_SOURCE);

    origin = world.spawn(world.world, [process.execPath, join(dir, 'origin.mjs'), join(dir, 'cert.pem'), join(dir, 'key.pem'), ...new Set(Object.values(HOSTS))]);
    originLines = new Lines(origin);
    await originLines.waitFor((line) => line['event'] === 'ready');

    proxyUid = await proxyUidIn(world, CLI);
    const ca = await initCa(join(dir, 'ca'), { name: 'kaizen netns interception CA', days: 2, force: false });
    for (const file of [join(dir, 'ca'), ca.certFile, ca.keyFile]) chownSync(file, Number(proxyUid), Number(proxyUid));
    // curl trusts both the interception CA and the origin's certificate: only the proxy's answer tells them apart.
    writeFileSync(join(dir, 'both.pem'), readFileSync(ca.certFile, 'utf8') + readFileSync(join(dir, 'cert.pem'), 'utf8'));
    writeFileSync(join(dir, 'kaizen-proxy.yaml'), PROXY_CONFIG(dir));
    const rules = await world.exec(world.agent, ['sh', SCRIPT, 'apply'], { env: { ...process.env, KAIZEN_PROXY_UID: proxyUid, KAIZEN_TRANSPARENT_PORT: PORT } });
    expect(rules, rules.stderr).toMatchObject({ code: 0 });

    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: dir };
    proxy = world.spawn(world.agent, asUid(proxyUid, [process.execPath, CLI, 'serve',
      '--config', join(dir, 'kaizen-proxy.yaml'), '--listen', '127.0.0.1:0', '--admin', 'off', '--transparent', `127.0.0.1:${PORT}`, '--allow-private', '203.0.113.2/32']), { cwd: dir, env });
    proxyLines = new Lines(proxy);
    proxyUrl = `http://${String((await proxyLines.waitFor((line) => line['msg'] === 'listening'))['proxy'])}`;
  });

  afterAll(async () => {
    proxy.kill('SIGTERM');
    origin.kill('SIGTERM');
    await world.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const decisionFor = (target: string) => proxyLines.waitFor((line) => line['msg'] === 'decision' && line['target'] === target);

  it('installs rules that exempt the proxy UID and loopback, redirect TCP and drop UDP 443, in both families', async () => {
    const nat = await world.exec(world.agent, ['iptables', '-t', 'nat', '-S', 'KAIZEN_OUTPUT']);
    expect(nat.stdout).toContain(`--uid-owner ${proxyUid} -j RETURN`);
    expect(nat.stdout).toContain('-d 127.0.0.0/8 -j RETURN');
    expect(nat.stdout).toContain(`-j REDIRECT --to-ports ${PORT}`);
    const nat6 = await world.exec(world.agent, ['ip6tables', '-t', 'nat', '-S', 'KAIZEN_OUTPUT']);
    expect(nat6.stdout).toContain(`-j REDIRECT --to-ports ${PORT}`);
    expect((await world.exec(world.agent, ['iptables', '-S', 'KAIZEN_QUIC'])).stdout).toContain('--dport 443 -j DROP');
  });

  it('captures plain HTTP, decides it from the Host header and forwards it (the proxy dials, not the agent)', async () => {
    const result = await curl(['http://allowed.test/plain?token=secret']);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({ scheme: 'http', host: 'allowed.test', path: '/plain?token=secret', from: AGENT_ADDRESS });
    expect(await decisionFor('allowed.test:80')).toMatchObject({ kind: 'http', decision: 'allow', method: 'GET' });
  });

  it('captures TLS, decides it from the SNI on 443 and tunnels the handshake untouched', async () => {
    const result = await curl(['--cacert', join(dir, 'cert.pem'), 'https://allowed.test/tls']);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ scheme: 'https', host: 'allowed.test', path: '/tls' });
    expect(await decisionFor('allowed.test:443')).toMatchObject({ kind: 'connect', decision: 'allow' });
  });

  it('refuses a blocked destination: a 403 for HTTP, a TLS access_denied alert for HTTPS, and never dials it', async () => {
    const plain = await curl(['-D', '-', '-o', '/dev/null', 'http://blocked.test/']);
    expect(plain.stdout).toMatch(/^HTTP\/1\.1 403/);
    expect(plain.stdout).toMatch(/X-Kaizen-Decision: block/i);
    const tls = await curl(['--cacert', join(dir, 'cert.pem'), 'https://blocked.test/']);
    expect(tls.code).not.toBe(0);
    expect(tls.stderr).toMatch(/access denied/i);
    expect(await decisionFor('blocked.test:443')).toMatchObject({ decision: 'block', source: 'guard' });
    expect(originLines.lines.filter((line) => String(line['local']).startsWith('203.0.113.3'))).toEqual([]);
  });

  it('labels a redirected TLS action with its publisher, as a CONNECT to it would be: a publisher rule refuses it', async () => {
    const tls = await curl(['--cacert', join(dir, 'cert.pem'), 'https://files.hastebin.com/']);
    expect(tls.stderr).toMatch(/access denied/i);
    expect(await decisionFor('files.hastebin.com:443')).toMatchObject({ kind: 'connect', decision: 'block', source: 'local', reason: 'blocked by local policy "no-paste-publisher" (publishers)' });
  });

  it('opens redirected TLS to an intercepted host and decides each request inside, as a CONNECT to it', async () => {
    const head = ['--cacert', join(dir, 'both.pem'), '-D', '-', '-o', '/dev/null'];
    const proxied = await curl([...head, '-x', proxyUrl, 'https://secret.test/secret']);
    // After the CONNECT's own 200, the request's answer.
    expect(proxied.stdout).toMatch(/^HTTP\/1\.1 403/m);
    const toolCall = (line: Line) => line['msg'] === 'decision' && line['kind'] === 'tool_call' && line['target'] === 'secret.test:443';
    const onProxyPort = await proxyLines.waitFor(toolCall);
    const redirected = await curl([...head, 'https://secret.test/secret']);
    expect(redirected.stderr).toBe('');
    expect(redirected.stdout).toMatch(/^HTTP\/1\.1 403/);
    const reason = (stdout: string) => /^X-Kaizen-Reason: (.*)\r$/im.exec(stdout)?.[1];
    expect(reason(redirected.stdout)).toMatch(/no-secret/);
    expect(reason(redirected.stdout)).toBe(reason(proxied.stdout));
    // The redirected request was an action of its own, decided as the one on the proxy port was.
    const decided = (line: Line) => ({ agent: line['agent'], method: line['method'], decision: line['decision'], reason: line['reason'], source: line['source'] });
    expect(decided(onProxyPort)).toMatchObject({ method: 'GET', decision: 'block', source: 'local' });
    expect(decided(await proxyLines.waitFor((line) => toolCall(line) && line !== onProxyPort))).toEqual(decided(onProxyPort));

    // Another path is decided on its own and served by the proxy, over its own TLS to the origin.
    const served = await curl(['--cacert', join(dir, 'both.pem'), 'https://secret.test/public']);
    expect(JSON.parse(served.stdout)).toMatchObject({ scheme: 'https', host: 'secret.test', path: '/public' });
    expect(await proxyLines.waitFor((line) => line['msg'] === 'decision' && line['kind'] === 'http' && line['target'] === 'secret.test:443')).toMatchObject({
      method: 'GET', decision: 'allow',
    });
    // The redirected /secret never reached the origin; /public did, once.
    expect(originLines.lines.filter((line) => line['event'] === 'request' && String(line['host']).startsWith('secret.test')).map((line) => line['path'])).toEqual(['/public']);
  });

  it('refuses HTTPS to a bare IP (no SNI) and logs why', async () => {
    const result = await curl(['-k', 'https://203.0.113.2/']);
    expect(result.code).not.toBe(0);
    expect(await proxyLines.waitFor((line) => line['msg'] === 'refused' && line['reason'] === 'no_sni')).toMatchObject({
      code: 'KZP_ERR_TRANSPARENT_DESTINATION',
    });
  });

  it('refuses a protocol that is neither TLS nor HTTP, with the reason', async () => {
    const script = "const s=require('net').connect(22,'203.0.113.2',()=>s.write('\\x00\\x01binary'));s.on('error',()=>{});s.on('close',()=>process.exit(0))";
    await world.exec(world.agent, asUid(AGENT_UID, [process.execPath, '-e', script]));
    await proxyLines.waitFor((line) => line['msg'] === 'refused' && line['reason'] === 'unknown_protocol');
  });

  it("leaves the proxy UID's own connections alone (no loop), and drops the agent's QUIC", async () => {
    const decisions = proxyLines.lines.filter((line) => line['msg'] === 'decision').length;
    const direct = await curlAs(proxyUid, ['http://allowed.test/direct']);
    expect(JSON.parse(direct.stdout)).toMatchObject({ path: '/direct' });
    // Not redirected: no decision for it, and every connection the world saw came from the agent address.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(proxyLines.lines.filter((line) => line['msg'] === 'decision').length).toBe(decisions);

    const quic = (uid: string) =>
      world.exec(world.agent, asUid(uid, [process.execPath, '-e',
        "const s=require('dgram').createSocket('udp4');s.send('quic?',443,'203.0.113.2',()=>setTimeout(()=>s.close(),100))"]));
    await quic(AGENT_UID);
    await quic(proxyUid);
    await originLines.waitFor((line) => line['event'] === 'udp');
    expect(originLines.lines.filter((line) => line['event'] === 'udp')).toHaveLength(1);
  });
});
