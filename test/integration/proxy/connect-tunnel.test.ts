import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolution } from '../../../src/contract/decision.js';
import { startBlackhole, type Blackhole } from '../../helpers/blackhole.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient, rawExchange } from '../../helpers/raw-client.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { closedPort } from '../../helpers/closed-port.js';

const run = promisify(execFile);

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
const failingResolve = (target: { host: string }): Promise<Resolution> =>
  Promise.resolve(
    target.host === 'nxdomain.test'
      ? { ok: false, code: 'KZP_ERR_DNS', message: 'lookup failed: ENOTFOUND' }
      : { ok: true, addresses: ['127.0.0.1'] },
  );

describe('CONNECT tunnels', () => {
  let ca: TestCa;
  let origin: Origin;
  let blocked: Origin;
  let blackhole: Blackhole;
  let proxy: StartedProxy;
  const decider = createFakeDecider({ block: ['blocked.test'], failClosed: ['unknown.test'], guard: ['metadata.test'] });

  beforeAll(async () => {
    ca = await createTestCa();
    [origin, blocked, blackhole] = await Promise.all([startOrigin({ tls: ca }), startOrigin(), startBlackhole()]);
    proxy = await startProxy({ decider, resolve: failingResolve, network: { connectTimeoutMs: 300 } });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close(), blocked.close(), blackhole.close()]);
    await ca.remove();
  });

  it('tunnels curl to a TLS origin and logs one decision and one closed line', async () => {
    const { stdout } = await run('curl', ['-sS', '--noproxy', '', '-x', proxy.url, '--cacert', ca.caFile, `${origin.url}/hello?token=secret`]);
    expect(JSON.parse(stdout)).toMatchObject({ method: 'GET', url: '/hello?token=secret' });
    const target = `127.0.0.1:${origin.port}`;
    const decision = await proxy.logs.waitFor((line) => line.msg === 'decision' && line['target'] === target);
    expect(decision).toMatchObject({ agent: 'test-agent', kind: 'connect', method: 'CONNECT', decision: 'allow', source: 'local', verdict_id: null });
    expect(typeof decision['ms']).toBe('number');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === target);
    expect(closed).toMatchObject({ kind: 'connect', status: 200 });
    expect(closed['bytes_up']).toBeGreaterThan(100);
    expect(closed['bytes_down']).toBeGreaterThan(100);
    expect(proxy.logs.text).not.toContain('token=secret');
  });

  it('forwards bytes sent together with the CONNECT line', async () => {
    const plain = await startOrigin();
    try {
      const client = await RawClient.open(proxy.port);
      client.write(`CONNECT 127.0.0.1:${plain.port} HTTP/1.1\r\nHost: 127.0.0.1:${plain.port}\r\n\r\nGET /early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(await client.readUntil('\r\n\r\n')).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
      const response = await client.readResponse();
      expect(JSON.parse(response.body)).toMatchObject({ url: '/early' });
      client.destroy();
    } finally {
      await plain.close();
    }
  });

  it.each([
    ['no port', 'CONNECT example.com HTTP/1.1'],
    ['port zero', 'CONNECT example.com:0 HTTP/1.1'],
    ['port too large', 'CONNECT example.com:65536 HTTP/1.1'],
    ['unbracketed IPv6', 'CONNECT ::1:443 HTTP/1.1'],
    ['userinfo', 'CONNECT user:pw@example.com:443 HTTP/1.1'],
    ['a path', 'CONNECT example.com:443/x HTTP/1.1'],
  ])('answers 400 to a malformed CONNECT (%s)', async (_name, line) => {
    const reply = await rawExchange(proxy.port, `${line}\r\nHost: x\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain('"error":"KZP_ERR_BAD_REQUEST"');
  });

  it('refuses a blocked destination with 403 before any SYN reaches it', async () => {
    const target = `blocked.test:${blocked.port}`;
    const client = await RawClient.open(proxy.port);
    client.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    const response = await client.readResponse();
    expect(response.status).toBe(403);
    expect(response.headers['x-kaizen-decision']).toBe('block');
    expect(response.headers['x-kaizen-reason']).toBe(`policy forbids ${target}`);
    expect(response.headers['connection']).toBe('close');
    expect(JSON.parse(response.body)).toEqual({
      error: 'KZP_ERR_BLOCKED',
      decision: 'block',
      reason: `policy forbids ${target}`,
      evidence: [{ kind: 'target', value: 'test', source: 'fake-decider' }],
      agent: 'test-agent',
      target,
      verdict_id: 'v-test-block',
    });
    await client.closed;
    expect(blocked.connections).toBe(0);
  });

  it('answers 403 KZP_ERR_GUARD for a guard refusal and 503 with Retry-After without a verdict', async () => {
    const guard = await rawExchange(proxy.port, 'CONNECT metadata.test:80 HTTP/1.1\r\n\r\n');
    expect(guard).toMatch(/^HTTP\/1\.1 403 /);
    expect(guard).toContain('"error":"KZP_ERR_GUARD"');
    const noVerdict = await rawExchange(proxy.port, 'CONNECT unknown.test:443 HTTP/1.1\r\n\r\n');
    expect(noVerdict).toMatch(/^HTTP\/1\.1 503 /);
    expect(noVerdict).toMatch(/\r\nRetry-After: \d+\r\n/);
    expect(noVerdict).toContain('X-Kaizen-Decision: block');
    expect(noVerdict).toContain('"error":"KZP_ERR_NO_VERDICT"');
  });

  it('names the client in closed lines where it listens beyond loopback, and leaves it out on loopback', async () => {
    const wide = await startProxy({ decider, resolve: failingResolve, host: '0.0.0.0' });
    try {
      const tunnelTarget = `127.0.0.1:${origin.port}`;
      const blockedTarget = `blocked.test:${blocked.port}`;
      const refusedTarget = `127.0.0.1:${await closedPort()}`;
      for (const server of [wide, proxy]) {
        const tunnel = await RawClient.open(server.port);
        tunnel.write(`CONNECT ${tunnelTarget} HTTP/1.1\r\n\r\n`);
        expect(await tunnel.readUntil('\r\n\r\n')).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
        tunnel.destroy();
        expect(await rawExchange(server.port, `CONNECT ${blockedTarget} HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 403 /);
        expect(await rawExchange(server.port, `CONNECT ${refusedTarget} HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1\.1 502 /);
      }
      for (const target of [tunnelTarget, blockedTarget, refusedTarget]) {
        const named = await wide.logs.waitFor((line) => line.msg === 'closed' && line['target'] === target);
        expect(named['client']).toBe('127.0.0.1');
        // On a loopback-only listener every client is a process on this host: its address is not read.
        const local = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === target);
        expect(local).not.toHaveProperty('client');
      }
    } finally {
      await wide.close();
    }
  });

  it('answers 502 for a DNS failure and for a refused connection, 504 for a dial timeout', async () => {
    const dns = await rawExchange(proxy.port, 'CONNECT nxdomain.test:443 HTTP/1.1\r\n\r\n');
    expect(dns).toMatch(/^HTTP\/1\.1 502 /);
    expect(dns).toContain('X-Kaizen-Error: KZP_ERR_DNS');
    expect(dns).not.toContain('X-Kaizen-Decision');
    const refused = await rawExchange(proxy.port, `CONNECT 127.0.0.1:${await closedPort()} HTTP/1.1\r\n\r\n`);
    expect(refused).toMatch(/^HTTP\/1\.1 502 /);
    expect(refused).toContain('X-Kaizen-Error: KZP_ERR_UPSTREAM_CONNECT');
    const timeout = await rawExchange(proxy.port, `CONNECT 127.0.0.1:${blackhole.port} HTTP/1.1\r\n\r\n`);
    expect(timeout).toMatch(/^HTTP\/1\.1 504 /);
    expect(timeout).toContain('X-Kaizen-Error: KZP_ERR_UPSTREAM_TIMEOUT');
  });

  it('abandons the dial when the client resets while it is connecting', async () => {
    const client = await RawClient.open(proxy.port);
    const target = `127.0.0.1:${blackhole.port}`;
    const start = proxy.logs.lines.length;
    const isNew = (line: LogLine): boolean => proxy.logs.lines.indexOf(line) >= start;
    client.write(`CONNECT ${target} HTTP/1.1\r\n\r\n`);
    await proxy.logs.waitFor((line) => isNew(line) && line.msg === 'decision' && line['target'] === target);
    client.socket.resetAndDestroy();
    const closed = await proxy.logs.waitFor((line) => isNew(line) && line.msg === 'closed' && line['target'] === target);
    expect(closed['status']).toBe(0);
    expect(closed['duration_ms']).toBeLessThan(300);
  });
});
