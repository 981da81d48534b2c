import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer, type ZoneAnswer } from '../../helpers/dns-server.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { underNameserver } from '../../helpers/system-resolver.js';
import { startServe, tempDir, writeFile, type ServeProcess } from '../reflex/cli-process.js';

/**
 * The name the proxy decides is the name it resolves. The real proxy (dist/cli.js) runs in a mount
 * namespace whose resolv.conf names a real DNS server on loopback and `search corp.test`, with
 * glibc's default timing (5 s, twice), and whose /etc/hosts is the test's. An origin listens on
 * 127.0.0.1, where the names answer.
 */
let dns: DnsServer;
let origin: Origin;
let proxy: ServeProcess;

const A_LOOPBACK: ZoneAnswer = { records: { a: ['127.0.0.1'] } };

beforeAll(async () => {
  dns = await startDnsServer();
  origin = await startOrigin();
  dns.set('db.corp.test', A_LOOPBACK);
  dns.set('fresh.kzp.test', A_LOOPBACK);
  dns.set('hosted.kzp.test', 'nxdomain');
  const config = writeFile(tempDir(), 'kaizen-proxy.yaml', 'network: { allow_private: [127.0.0.0/8], dns_timeout: 60s }\n');
  const launcher = underNameserver(dns.address, {
    search: ['corp.test'],
    options: 'timeout:5 attempts:2',
    hosts: '# the test\'s hosts file\n127.0.0.1 intranet-box hosted.kzp.test # both names\n',
  });
  proxy = await startServe(['--config', config, '--listen', '127.0.0.1:0', '--admin', 'off'], undefined, undefined, launcher);
});

afterAll(async () => {
  await proxy.stop();
  await origin.close();
  await dns.close();
});

/** Sends CONNECT host:origin-port; the client, to read the answer from. */
async function sendConnect(host: string): Promise<RawClient> {
  const client = await RawClient.open(proxy.port);
  client.write(`CONNECT ${host}:${origin.port} HTTP/1.1\r\nHost: ${host}:${origin.port}\r\n\r\n`);
  return client;
}

/** CONNECT to `host`: the origin's answer through the tunnel, or the proxy's refusal. */
async function connectTo(host: string): Promise<{ readonly status: number; readonly error?: string; readonly reached: boolean }> {
  const client = await sendConnect(host);
  try {
    const answer = await client.readResponse({ bodiless: true });
    if (answer.status !== 200) return { status: answer.status, error: answer.headers['x-kaizen-error'] ?? '', reached: false };
    client.write(`GET /through-${host} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const response = await client.readResponse();
    return { status: answer.status, reached: response.status === 200 && response.body.includes(`/through-${host}`) };
  } finally {
    client.destroy();
  }
}

const NO_SUCH_NAME = { status: 502, error: 'KZP_ERR_DNS', reached: false };

describe('names are resolved as written', () => {
  it('a single-label name is no such name: the search list never makes `db` db.corp.test', async () => {
    expect(await connectTo('db')).toEqual(NO_SUCH_NAME);
    expect(await connectTo('db.')).toEqual(NO_SUCH_NAME);
    expect(await connectTo('DB')).toEqual(NO_SUCH_NAME);
    expect(dns.queries.map((query) => query.name)).not.toContain('db.corp.test');
    // The full name is the way to it.
    expect(await connectTo('db.corp.test')).toEqual({ status: 200, reached: true });
  });

  it('a name /etc/hosts lists resolves from it, without a query', async () => {
    expect(await connectTo('intranet-box')).toEqual({ status: 200, reached: true });
    // Listed there, a name DNS says does not exist still resolves: the file comes first.
    expect(await connectTo('hosted.kzp.test')).toEqual({ status: 200, reached: true });
    expect(await connectTo('hosted.kzp.test.')).toEqual({ status: 200, reached: true });
    const asked = dns.queries.map((query) => query.name);
    expect(asked.filter((name) => name.startsWith('intranet-box') || name.startsWith('hosted.kzp.test'))).toEqual([]);
  });

  it('names whose server never answers do not hold up a name it answers', async () => {
    const slowNames = Array.from({ length: 8 }, (_, index) => `never${String(index)}.slow.test`);
    for (const name of slowNames) dns.set(name, 'silent');
    const from = dns.queries.length;
    const slow = await Promise.all(slowNames.map((name) => sendConnect(name)));
    const answered: number[] = [];
    for (const client of slow) void client.readResponse({ bodiless: true }).then((response) => answered.push(response.status), () => undefined);
    try {
      // Every slow name is at the server, unanswered, before the fresh one is asked for.
      await Promise.all(slowNames.map((name) => dns.waitForQuery(name, from)));
      expect(await connectTo('fresh.kzp.test')).toEqual({ status: 200, reached: true });
      // ...and the slow ones are still waiting for their lookups.
      expect(answered).toEqual([]);
    } finally {
      for (const client of slow) client.destroy();
    }
  });
});
