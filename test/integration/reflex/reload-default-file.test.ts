import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { cleanEnv, startServe, tempDir, writeFile, type ServeProcess } from './cli-process.js';

/**
 * Reload of a proxy whose file is the default one (config/kaizen-proxy.yaml in the working
 * directory, not named with --config): a file that has gone is a refused reload, as for a named
 * file, never a silent return to the defaults.
 */
const BASE = ['listen: 127.0.0.1:0', 'admin: off', 'network: { allow_private: [127.0.0.0/8] }'];
const BLOCK_LOOPBACK = [...BASE, 'policies:', '  - name: no-loopback', '    mode: blocklist', '    rules: { ips: [127.0.0.0/8] }'];

let origin: Origin | undefined;
let serve: ServeProcess | undefined;

afterEach(async () => {
  if (serve !== undefined) expect(await serve.stop()).toBe(0);
  await origin?.close();
  serve = undefined;
  origin = undefined;
});

async function connectStatus(proxy: ServeProcess, port: number): Promise<number> {
  const client = await RawClient.open(proxy.port);
  client.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  const response = await client.readResponse({ bodiless: true });
  client.destroy();
  return response.status;
}

async function sighup(proxy: ServeProcess): Promise<Record<string, unknown>> {
  const seen = proxy.lines.length;
  proxy.child.kill('SIGHUP');
  return proxy.waitFor((line) => line['component'] === 'reload' && proxy.lines.indexOf(line) >= seen);
}

describe('reload of the default config file', () => {
  it('refuses the reload and keeps the policies when the default file has gone', async () => {
    origin = await startOrigin();
    const dir = tempDir();
    mkdirSync(join(dir, 'config'));
    const file = writeFile(dir, 'config/kaizen-proxy.yaml', BLOCK_LOOPBACK.join('\n'));
    serve = await startServe([], cleanEnv(), dir);
    expect(await connectStatus(serve, origin.port)).toBe(403);

    renameSync(file, join(dir, 'moved-away.yaml'));
    const refused = await sighup(serve);
    expect(refused).toMatchObject({ level: 'error', msg: 'configuration reload refused: keeping the running configuration', trigger: 'SIGHUP', code: 'KZP_ERR_CONFIG_READ' });
    expect(String(refused['issues'])).toContain('config/kaizen-proxy.yaml');
    expect(await connectStatus(serve, origin.port)).toBe(403);
  });

  it('picks up a default file created after start on SIGHUP, and lists only its keys', async () => {
    const dir = tempDir();
    serve = await startServe(['--listen', '127.0.0.1:0', '--admin', 'off'], cleanEnv(), dir);
    mkdirSync(join(dir, 'config'));
    writeFile(dir, 'config/kaizen-proxy.yaml', 'mode: monitor\nnetwork: { allow_private: [127.0.0.0/8] }\n');
    const reloaded = await sighup(serve);
    expect(reloaded).toMatchObject({ trigger: 'SIGHUP', applied: ['mode'], restart_required: ['network'] });
  });
});
