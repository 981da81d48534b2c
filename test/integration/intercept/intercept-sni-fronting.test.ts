import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createLogger } from '../../../src/observe/logger.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { openTunnel } from './tunnel-client.js';

/** TLS over `socket` naming `servername`, then a POST: resolves with the answer's first line, rejects with the TLS error. */
function postOverTls(socket: Socket, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername, ca });
    let answer = '';
    tls.on('error', reject);
    tls.on('secureConnect', () => {
      tls.write(`POST /v1/refunds HTTP/1.1\r\nHost: ${servername}\r\nContent-Length: 9\r\nConnection: close\r\n\r\ncharge=ch`);
    });
    tls.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    tls.on('close', () => {
      if (answer === '') reject(new Error('closed without an answer'));
      else resolve(answer.split('\r\n')[0] ?? '');
    });
  });
}

/**
 * A CONNECT to a host that is not intercepted whose ClientHello names one that is would carry an
 * opaque TLS session to it, skipping the per-request and tool decisions promised for intercepted
 * hosts: refused like a refused SNI mismatch, even under tls.sni_mismatch: allow.
 */
describe('an SNI naming an intercepted host in a tunnel to another', () => {
  let dir: string;
  let originCa: TestCa;
  let origin: Origin;
  let logs: CapturedLogs;
  let proxy: KaizenProxy | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-sni-intercepted-'));
    await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test CA', days: 2, force: false });
    originCa = await createTestCa();
    origin = await startOrigin({ tls: originCa });
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  afterAll(async () => {
    await origin.close();
    await originCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  /** The whole proxy from a configuration file: only localhost intercepted, a tool route on it. */
  async function start(sniMismatch: 'allow' | 'block', mode: 'enforce' | 'monitor'): Promise<number> {
    const file = join(dir, `kaizen-proxy-${sniMismatch}-${mode}.yaml`);
    await writeFile(
      file,
      [
        'admin: off',
        'network: {allow_private: [127.0.0.0/8, "::1/128"]}',
        `tls: {sni_mismatch: ${sniMismatch}}`,
        `intercept: {ca_dir: "${join(dir, 'certs')}", hosts: [localhost], upstream_ca: "${originCa.caFile}"}`,
        'tools:',
        '  - {match: "POST localhost/v1/refunds", tool: issue_refund, publisher: stripe}',
      ].join('\n'),
    );
    const loaded = loadConfig({ flags: { config: file, listen: '127.0.0.1:0', mode }, env: {} });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    logs = new CapturedLogs();
    proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: logs }) });
    return proxy.address.port;
  }

  /** CONNECT 127.0.0.1 (not intercepted), then TLS naming localhost (intercepted) and a POST to its tool route. */
  async function expectRefused(port: number): Promise<void> {
    const connectTarget = `127.0.0.1:${origin.port}`;
    const socket = await openTunnel(port, connectTarget);
    await expect(postOverTls(socket, 'localhost', originCa.caPem)).rejects.toThrow(/alert access denied|socket hang up|ECONNRESET|closed/);
    const closed = await logs.waitFor((line) => line.msg === 'closed' && line['target'] === connectTarget);
    expect(closed).toMatchObject({ kind: 'connect', status: 200, code: 'KZP_ERR_SNI_MISMATCH', bytes_up: 0 });
    const refused = logs.lines.find((line) => line['code'] === 'KZP_ERR_SNI_MISMATCH' && line['reason'] === 'sni_intercepted');
    expect(refused).toMatchObject({ level: 'warn', target: connectTarget, named: `localhost:${origin.port}` });
    expect(origin.requests).toEqual([]);
  }

  it('sni_mismatch: allow: refused with an alert before any byte reaches the origin, after the SNI\'s own decision', async () => {
    await expectRefused(await start('allow', 'enforce'));
    const decision = logs.lines.find((line) => line.msg === 'decision' && line['target'] === `localhost:${origin.port}`);
    expect(decision).toMatchObject({ kind: 'connect', decision: 'allow' });
  });

  it('sni_mismatch: block in monitor mode (the mismatch only logged as would_block): refused all the same', async () => {
    await expectRefused(await start('block', 'monitor'));
    const decision = logs.lines.find((line) => line.msg === 'decision' && line['target'] === `localhost:${origin.port}`);
    expect(decision).toMatchObject({ kind: 'connect', reason: 'sni_mismatch', would_block: true });
  });

  it('the intercepted host itself still works: CONNECT localhost is terminated and its POST decided as a tool call', async () => {
    const port = await start('allow', 'enforce');
    const ca = await readFile(join(dir, 'certs', 'ca.pem'), 'utf8');
    const socket = await openTunnel(port, `localhost:${origin.port}`);
    expect(await postOverTls(socket, 'localhost', ca)).toBe('HTTP/1.1 200 OK');
    const decision = await logs.waitFor((line) => line.msg === 'decision' && line['kind'] === 'tool_call');
    expect(decision).toMatchObject({ decision: 'allow', target: `localhost:${origin.port}` });
  });
});
