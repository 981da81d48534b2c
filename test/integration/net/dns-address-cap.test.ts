import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsServer } from '../../helpers/dns-server.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { underNameserver } from '../../helpers/system-resolver.js';
import { runCli, startServe, tempDir, writeFile, type ServeProcess } from '../reflex/cli-process.js';

/**
 * A name's zone is the agent's to write. The real proxy (dist/cli.js) asks a real DNS server on
 * loopback (resolv.conf swapped in a mount namespace) for a name answering 40 A records, the
 * last of them where an origin listens. Only the first 16 of a family are kept: before, each
 * answer was held whole in the lookup cache (an answer over TCP carries about 4,000 records,
 * about 170 KB of heap per name, gigabytes across the cache's 10,000 names) and one CONNECT
 * dialled every address in turn (4,000 SYNs for one request).
 */
let dns: DnsServer;
let origin: Origin;
let proxy: ServeProcess;
let config: string;

const NAME = 'many.kzp.test';
const ADDRESSES = Array.from({ length: 40 }, (_, index) => `127.77.0.${String(index + 1)}`);

beforeAll(async () => {
  dns = await startDnsServer();
  dns.set(NAME, { records: { a: ADDRESSES } });
  origin = await startOrigin({ host: '127.77.0.40' });
  config = writeFile(tempDir(), 'kaizen-proxy.yaml', 'network: { allow_private: [127.0.0.0/8] }\nobserved: { enabled: false }\n');
  proxy = await startServe(['--config', config, '--listen', '127.0.0.1:0', '--admin', 'off'], undefined, undefined, underNameserver(dns.address));
});

afterAll(async () => {
  await proxy.stop();
  await origin.close();
  await dns.close();
});

describe('a name with more addresses than are kept', () => {
  it('check: the first 16 A records, in the order the server gave them', async () => {
    const result = await runCli(['check', '--config', config, `${NAME}:${String(origin.port)}`], undefined, undefined, underNameserver(dns.address));
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { addresses: readonly string[] }).addresses).toEqual(ADDRESSES.slice(0, 16));
  });

  it('serve: a CONNECT dials none past the 16th (the 40th, where the origin listens, is never reached)', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write(`CONNECT ${NAME}:${String(origin.port)} HTTP/1.1\r\nHost: ${NAME}:${String(origin.port)}\r\n\r\n`);
      const answer = await client.readResponse({ bodiless: true });
      expect(answer.status).toBe(502);
      expect(answer.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_CONNECT');
    } finally {
      client.destroy();
    }
    expect(origin.connections).toBe(0);
  });
});
