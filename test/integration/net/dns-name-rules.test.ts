import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../helpers/dns-server.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient, sendRaw } from '../../helpers/raw-client.js';
import { underNameserver } from '../../helpers/system-resolver.js';
import { cleanEnv, runCli, startServe, tempDir, writeFile, type ServeProcess } from '../reflex/cli-process.js';

/**
 * A destination the local policy refuses by its name alone (a `domains` blocklist) is refused
 * before anything is looked up: the labels an agent chose under a blocked domain never reach that
 * domain's nameserver. The real proxy (dist/cli.js) resolves with getaddrinfo, which here asks a
 * real DNS server on loopback that records every query (resolv.conf swapped in a mount namespace
 * of its own); a real fake control plane gives verdicts. Every name in the zone answers 127.0.0.1,
 * where an origin listens, so a name that is looked up shows in the server's queries.
 */
let dns: DnsServer;
let origin: Origin;
let cp: FakeControlPlane;
let proxy: ServeProcess;
let config: string;
let env: NodeJS.ProcessEnv;

const BLOCKED_CONNECT = 'c2vjcmv0lwfwas1rzxk.exfil.test';
const BLOCKED_GET = 'dg9rzw4tmg.exfil.test';
const BLOCKED_CHECK = 'y2hly2s.exfil.test';
const ALLOWED = 'allowed.kzp.test';
const REASON = 'blocked by local policy "no-exfil" (domains)';

beforeAll(async () => {
  [dns, origin, cp] = await Promise.all([startDnsServer(), startOrigin(), startFakeControlPlane()]);
  for (const name of [BLOCKED_CONNECT, BLOCKED_GET, BLOCKED_CHECK, ALLOWED]) dns.set(name, { records: { a: ['127.0.0.1'] } });
  cp.routeWith('/v1/policy', reply.policies([]));
  cp.respondWith(reply.allow());
  config = writeFile(
    tempDir(),
    'kaizen-proxy.yaml',
    'network: { allow_private: [127.0.0.0/8] }\npolicies:\n  - { name: no-exfil, mode: blocklist, rules: { domains: [exfil.test] } }\n',
  );
  env = cleanEnv({ KAIZEN_API_KEY: 'kz_test_name_rules', KAIZEN_API_URL: cp.url });
  proxy = await startServe(['--config', config, '--listen', '127.0.0.1:0', '--admin', 'off'], env, undefined, underNameserver(dns.address));
});

afterAll(async () => {
  await proxy.stop();
  await Promise.all([origin.close(), cp.close(), dns.close()]);
});

/** Names under the blocked domain the DNS server was asked for since the `from`-th query. */
function exfilQueries(from: number): string[] {
  return dns.queries.slice(from).filter((query) => query.name.endsWith('exfil.test')).map((query) => `${query.name} ${query.type}`);
}

describe('a destination refused by a name-only rule is not looked up', () => {
  it('CONNECT under a blocked domain: 403 from the domains rule, reported to the control plane, and no DNS query', async () => {
    const from = dns.queries.length;
    const client = await RawClient.open(proxy.port);
    try {
      client.write(`CONNECT ${BLOCKED_CONNECT}:${origin.port} HTTP/1.1\r\nHost: ${BLOCKED_CONNECT}:${origin.port}\r\n\r\n`);
      const answer = await client.readResponse();
      expect(answer.status).toBe(403);
      expect(answer.headers['x-kaizen-reason']).toBe(REASON);
    } finally {
      client.destroy();
    }
    // The block is still reported (in the background), like any local block.
    const report = await cp.waitForRequest((request) => request.path === '/v1/verdicts' && JSON.stringify(request.body).includes(BLOCKED_CONNECT));
    expect(report.body).toMatchObject({ verdict: { decision: 'block', reason: REASON } });
    expect(exfilQueries(from)).toEqual([]);
    expect(origin.connections).toBe(0);
  });

  it('absolute-form GET under a blocked domain: 403 from the domains rule, and no DNS query', async () => {
    const from = dns.queries.length;
    const answer = await sendRaw(proxy.port, `GET http://${BLOCKED_GET}:${origin.port}/x HTTP/1.1\r\nHost: ${BLOCKED_GET}:${origin.port}\r\n\r\n`);
    expect(answer.status).toBe(403);
    expect(answer.headers['x-kaizen-reason']).toBe(REASON);
    const decision = await proxy.waitFor((line) => line['msg'] === 'decision' && line['target'] === `${BLOCKED_GET}:${origin.port}`);
    expect(decision).toMatchObject({ decision: 'block', source: 'local' });
    expect(exfilQueries(from)).toEqual([]);
    expect(origin.connections).toBe(0);
  });

  it('`check` answers as serve does: refused by the domains rule, not looked up (looked_up: false), exit 1', async () => {
    const from = dns.queries.length;
    const result = await runCli(['check', '--config', config, `${BLOCKED_CHECK}:443`], env, undefined, underNameserver(dns.address));
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'block', source: 'local', reason: REASON, addresses: null, dns_error: null, looked_up: false });
    expect(exfilQueries(from)).toEqual([]);
  });

  it('an allowed name is still looked up, judged by the control plane, and reached', async () => {
    const from = dns.queries.length;
    const client = await RawClient.open(proxy.port);
    try {
      client.write(`CONNECT ${ALLOWED}:${origin.port} HTTP/1.1\r\nHost: ${ALLOWED}:${origin.port}\r\n\r\n`);
      expect((await client.readResponse({ bodiless: true })).status).toBe(200);
      client.write(`GET /through HTTP/1.1\r\nHost: ${ALLOWED}\r\nConnection: close\r\n\r\n`);
      const response = await client.readResponse();
      expect(response.status).toBe(200);
      expect(response.body).toContain('/through');
    } finally {
      client.destroy();
    }
    expect(dns.queries.slice(from).some((query) => query.name === ALLOWED)).toBe(true);
    const asked = await cp.waitForRequest((request) => request.path === '/v1/verdicts' && JSON.stringify(request.body).includes(ALLOWED));
    expect(asked.body).toMatchObject({ verdict: { decision: 'allow' } });
    const decision = await proxy.waitFor((line) => line['msg'] === 'decision' && line['target'] === `${ALLOWED}:${origin.port}`);
    expect(decision).toMatchObject({ decision: 'allow', source: 'control_plane' });
  });
});
