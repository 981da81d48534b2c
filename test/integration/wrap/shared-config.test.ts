import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../../helpers/closed-port.js';
import { OPEN_LOOPBACK, runWrapper } from './run-wrapper.js';
import { startWrapOrigin, type WrapOrigin } from './wrap-origin.js';

/**
 * A sidecar's configuration file used for a wrapped command: its transparent listener, gateway
 * credentials and unsafe_open_proxy belong to the shared proxy, not to the wrapper's own.
 */
describe("wrap mode with a sidecar's configuration file", () => {
  let dir: string;
  let config: string;
  let transparentPort: number;
  let origin: WrapOrigin;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-shared-'));
    origin = await startWrapOrigin();
    transparentPort = await closedPort();
    const credentials = join(dir, 'credentials');
    await writeFile(credentials, `ci-bot:${createHash('sha256').update('s3cret').digest('hex')}\n`);
    config = join(dir, 'sidecar.yaml');
    await writeFile(config, [`transparent: 0.0.0.0:${String(transparentPort)}`, 'unsafe_open_proxy: true', `gateway: {credentials_file: "${credentials}"}`, ''].join('\n'));
  });

  afterAll(async () => {
    await origin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("the child's requests are not asked for gateway credentials its HTTP_PROXY cannot carry", async () => {
    const run = await runWrapper(['-c', config, ...OPEN_LOOPBACK, '--', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', `${origin.url}/hello`]);
    expect(run).toMatchObject({ code: 0, stdout: '200' });
    expect(origin.requests).toContain('GET /hello');
  });

  it("the file's transparent listener is not opened (the child never uses it; two wrappers would fight over it)", async () => {
    const script = [
      'const socket = require("node:net").connect(Number(process.argv[1]), "127.0.0.1");',
      'socket.on("connect", () => { process.stdout.write("listening"); socket.destroy(); });',
      'socket.on("error", (error) => process.stdout.write(error.code));',
    ].join(' ');
    const run = await runWrapper(['-c', config, '--', process.execPath, '-e', script, String(transparentPort)]);
    expect(run).toMatchObject({ code: 0, stdout: 'ECONNREFUSED' });
  });

  it("the file's unsafe_open_proxy does not open the wrapper's proxy beyond loopback; --unsafe-open-proxy does", async () => {
    const command = ['--', process.execPath, '-e', 'process.stdout.write("ran")'];
    const refused = await runWrapper(['-c', config, ...command], { env: { KAIZEN_PROXY_LISTEN: '0.0.0.0:0' } });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    // Only the flag can open it: the message names neither the file's key nor gateway credentials.
    expect(refused.stderr).toContain('listening on 0.0.0.0 (beyond loopback) needs --unsafe-open-proxy to let anyone');
    expect(refused.stderr).not.toMatch(/gateway\.credentials_file|unsafe_open_proxy: true/);
    const asked = await runWrapper(['-c', config, '--unsafe-open-proxy', ...command], { env: { KAIZEN_PROXY_LISTEN: '0.0.0.0:0' } });
    expect(asked).toMatchObject({ code: 0, stdout: 'ran' });
  });
});
