import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInterception, type Interception } from '../../helpers/interception.js';
import type { LogLine } from '../../helpers/start-proxy.js';

const run = promisify(execFile);

/**
 * `curl --http1.0` offers ALPN `http/1.0` alone. Served directly by an HTTP/1.x origin it works;
 * an intercepted host must serve it too, not refuse the handshake as if it were an h2-only client.
 */
describe('interception: an HTTP/1.0 client (curl --http1.0)', () => {
  let setup: Interception;

  beforeAll(async () => {
    setup = await startInterception();
  });

  afterAll(() => setup.close());

  it('is served, its ALPN http/1.0 accepted, and no trust or h2 warning logged', async () => {
    const { ca, proxy, target, origin } = setup;
    const before = origin.requests.length;
    const { stdout } = await run('curl', ['-sS', '--fail', '--http1.0', '--cacert', ca.certFile, '-x', proxy.url, `https://${target}/ten`]);
    expect(JSON.parse(stdout)).toMatchObject({ method: 'GET', url: '/ten', headers: { host: target } });
    expect(origin.requests.length).toBe(before + 1);
    const closed = await proxy.logs.waitFor((line: LogLine) => line.msg === 'closed' && line['kind'] === 'connect' && line['target'] === target);
    expect(closed['code']).toBeUndefined();
    expect(proxy.logs.lines.filter((line) => line['code'] === 'KZP_ERR_INTERCEPT_TLS')).toHaveLength(0);
  });
});
