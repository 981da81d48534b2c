import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer, type ZoneAnswer } from '../../helpers/dns-server.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { underNameserver } from '../../helpers/system-resolver.js';
import { runCli, startServe, tempDir, writeFile, type ServeProcess } from '../reflex/cli-process.js';

/**
 * Serve-stale (network.dns_stale_if_error) covers a resolver that gives no answer, not an answer
 * that the name is gone (RFC 8767). The real proxy (dist/cli.js) resolves with c-ares, which
 * here asks a real DNS server on loopback (its resolv.conf is swapped in a mount namespace of its
 * own), and each name first answers 127.0.0.1, where an origin listens. Then the record changes:
 * deleted (NXDOMAIN: ENOTFOUND), left without addresses (NODATA: ENODATA), or the server fails
 * (SERVFAIL: ESERVFAIL), stays silent past dns_timeout, or goes away (ECONNREFUSED). dns_ttl 0s
 * asks the resolver on every CONNECT, so the stale answer is the only way the origin is reached.
 */
let dns: DnsServer;
let origin: Origin;
let proxy: ServeProcess;
let config: string;

const A_LOOPBACK: ZoneAnswer = { records: { a: ['127.0.0.1'] } };

beforeAll(async () => {
  dns = await startDnsServer();
  origin = await startOrigin();
  config = writeFile(
    tempDir(),
    'kaizen-proxy.yaml',
    'network: { allow_private: [127.0.0.0/8], dns_ttl: 0s, dns_negative_ttl: 1h, dns_timeout: 300ms, dns_stale_if_error: 5m }\n',
  );
  proxy = await startServe(['--config', config, '--listen', '127.0.0.1:0', '--admin', 'off'], undefined, undefined, underNameserver(dns.address));
});

afterAll(async () => {
  await proxy.stop();
  await origin.close();
  await dns.close();
});

/** CONNECT to `host` at the origin's port: the origin's answer through the tunnel, or the proxy's refusal. */
async function connectTo(host: string): Promise<{ readonly status: number; readonly error?: string; readonly reached: boolean }> {
  const client = await RawClient.open(proxy.port);
  try {
    client.write(`CONNECT ${host}:${origin.port} HTTP/1.1\r\nHost: ${host}:${origin.port}\r\n\r\n`);
    const answer = await client.readResponse({ bodiless: true });
    if (answer.status !== 200) return { status: answer.status, error: answer.headers['x-kaizen-error'] ?? '', reached: false };
    client.write(`GET /through-${host} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const response = await client.readResponse();
    return { status: answer.status, reached: response.status === 200 && response.body.includes(`/through-${host}`) };
  } finally {
    client.destroy();
  }
}

/** Changes what `name` answers, then CONNECTs to it; `asked`: the proxy's resolver sent a query after the change. */
async function afterChange(name: string, answer: ZoneAnswer): Promise<{ readonly result: Awaited<ReturnType<typeof connectTo>>; readonly asked: boolean }> {
  const from = dns.queries.length;
  dns.set(name, answer);
  const result = await connectTo(name);
  return { result, asked: dns.queries.slice(from).some((query) => query.name === name) };
}

describe('a name one of whose families is never answered', () => {
  it('AAAA queries dropped: the A answer in hand at dns_timeout is the answer, not 502', async () => {
    dns.set('no-aaaa.kzp.test', { records: { a: ['127.0.0.1'], aaaa: 'silent' } });
    expect(await connectTo('no-aaaa.kzp.test')).toEqual({ status: 200, reached: true });
    expect(dns.queries.filter((query) => query.name === 'no-aaaa.kzp.test').map((query) => query.type)).toContain(28);
  });

  it('`check` has dns_timeout too, and answers as serve does', async () => {
    dns.set('no-aaaa-check.kzp.test', { records: { a: ['127.0.0.1'], aaaa: 'silent' } });
    const result = await runCli(['check', '--config', config, `no-aaaa-check.kzp.test:${String(origin.port)}`], undefined, undefined, underNameserver(dns.address));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ decision: 'allow', addresses: ['127.0.0.1'], dns_error: null, looked_up: true });
  });
});

describe('a name whose lookup fails after it answered', () => {
  it('deleted (NXDOMAIN): 502 KZP_ERR_DNS at once, not the old address; the negative answer is kept for dns_negative_ttl', async () => {
    dns.set('deleted.kzp.test', A_LOOPBACK);
    expect(await connectTo('deleted.kzp.test')).toEqual({ status: 200, reached: true });
    expect(await afterChange('deleted.kzp.test', 'nxdomain')).toEqual({ result: { status: 502, error: 'KZP_ERR_DNS', reached: false }, asked: true });
    // Recreated within dns_negative_ttl (1h): the negative answer stands, the resolver is not asked.
    expect(await afterChange('deleted.kzp.test', A_LOOPBACK)).toEqual({ result: { status: 502, error: 'KZP_ERR_DNS', reached: false }, asked: false });
  });

  it('left without addresses (NODATA): 502 KZP_ERR_DNS at once, not the old address', async () => {
    dns.set('emptied.kzp.test', A_LOOPBACK);
    expect(await connectTo('emptied.kzp.test')).toEqual({ status: 200, reached: true });
    expect(await afterChange('emptied.kzp.test', { records: {} })).toEqual({ result: { status: 502, error: 'KZP_ERR_DNS', reached: false }, asked: true });
  });

  it('the server fails (SERVFAIL): the last answer serves', async () => {
    dns.set('servfail.kzp.test', A_LOOPBACK);
    expect(await connectTo('servfail.kzp.test')).toEqual({ status: 200, reached: true });
    expect(await afterChange('servfail.kzp.test', 'servfail')).toEqual({ result: { status: 200, reached: true }, asked: true });
  });

  it('the server does not answer within dns_timeout: the last answer serves', async () => {
    dns.set('silent.kzp.test', A_LOOPBACK);
    expect(await connectTo('silent.kzp.test')).toEqual({ status: 200, reached: true });
    expect(await afterChange('silent.kzp.test', 'silent')).toEqual({ result: { status: 200, reached: true }, asked: true });
  });

  it('the server is gone (queries refused): the last answer serves', async () => {
    dns.set('outage.kzp.test', A_LOOPBACK);
    expect(await connectTo('outage.kzp.test')).toEqual({ status: 200, reached: true });
    await dns.close();
    expect(await connectTo('outage.kzp.test')).toEqual({ status: 200, reached: true });
  });
});
