import { renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startServe, tempDir, writeFile, type ServeProcess } from './cli-process.js';

/**
 * Hot reload of a real `kaizen-proxy serve` process: the config file rewritten in place (and
 * replaced by rename, as editors and ConfigMaps do), an invalid version, and SIGHUP, while a
 * tunnel opened before the first reload keeps carrying bytes.
 */
let origin: Origin;
let serve: ServeProcess;
let dir: string;
let file: string;

const BASE = ['listen: 127.0.0.1:0', 'admin: off', 'network: { allow_private: [127.0.0.0/8] }'];
const BLOCK_LOOPBACK = [...BASE, 'policies:', '  - name: no-loopback', '    mode: blocklist', '    rules: { ips: [127.0.0.0/8] }'];

async function openTunnel(): Promise<RawClient> {
  const client = await RawClient.open(serve.port);
  client.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
  return client;
}

async function getThrough(tunnel: RawClient, path: string): Promise<number> {
  tunnel.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  return (await tunnel.readResponse()).status;
}

async function connectStatus(): Promise<{ status: number; reason: string | undefined }> {
  const client = await openTunnel();
  const response = await client.readResponse({ bodiless: true });
  client.destroy();
  return { status: response.status, reason: response.headers['x-kaizen-reason'] };
}

const reloads = (): Record<string, unknown>[] => serve.lines.filter((line) => line['component'] === 'reload');
async function nextReload(action: () => void): Promise<Record<string, unknown>> {
  const seen = reloads().length;
  action();
  return serve.waitFor((line) => line['component'] === 'reload' && reloads().indexOf(line) >= seen);
}

beforeAll(async () => {
  origin = await startOrigin();
  dir = tempDir();
  file = writeFile(dir, 'kaizen-proxy.yaml', BASE.join('\n'));
  serve = await startServe(['-c', file]);
});

afterAll(async () => {
  expect(await serve.stop()).toBe(0);
  await origin.close();
});

describe('hot reload', () => {
  it('applies a valid file, refuses an invalid one, answers SIGHUP, and never cuts an open tunnel', async () => {
    const tunnel = await openTunnel();
    expect((await tunnel.readResponse({ bodiless: true })).status).toBe(200);
    expect(await getThrough(tunnel, '/before')).toBe(200);

    // 1. The file changes: the new policy applies to new connections at once.
    const applied = await nextReload(() => writeFile(dir, 'kaizen-proxy.yaml', BLOCK_LOOPBACK.join('\n')));
    expect(applied).toMatchObject({ level: 'info', msg: 'configuration reloaded', trigger: 'file change', applied: ['policies'], restart_required: [] });
    expect(await connectStatus()).toEqual({ status: 403, reason: 'blocked by local policy "no-loopback" (ip)' });
    expect(await getThrough(tunnel, '/after-policy')).toBe(200);

    // 2. An invalid file (replaced by rename): refused and logged; the running configuration stays.
    const refused = await nextReload(() => {
      renameSync(writeFile(dir, 'kaizen-proxy.yaml.tmp', [...BLOCK_LOOPBACK, 'mode: observe'].join('\n')), file);
    });
    expect(refused).toMatchObject({ level: 'error', msg: 'configuration reload refused: keeping the running configuration', code: 'KZP_ERR_CONFIG_INVALID' });
    expect(String(refused['issues'])).toContain('mode');
    expect((await connectStatus()).status).toBe(403);
    expect(await getThrough(tunnel, '/after-invalid')).toBe(200);

    // 3. A valid file again, with a change that needs a restart; then SIGHUP with nothing new.
    const partly = await nextReload(() => writeFile(dir, 'kaizen-proxy.yaml', ['listen: 127.0.0.1:1', ...BASE.slice(1), 'mode: monitor'].join('\n')));
    expect(partly).toMatchObject({ level: 'warn', trigger: 'file change', applied: ['mode', 'policies'], restart_required: ['listen'] });
    expect((await connectStatus()).status).toBe(200);
    const hup = await nextReload(() => serve.child.kill('SIGHUP'));
    expect(hup).toMatchObject({ trigger: 'SIGHUP', applied: [] });
    expect(await getThrough(tunnel, '/end')).toBe(200);
    tunnel.end();
    const seen = origin.requests.map((request) => request.url);
    for (const path of ['/before', '/after-policy', '/after-invalid', '/end']) expect(seen).toContain(path);
  });

  it('refuses a file past the size cap without parsing it, and keeps the running configuration', async () => {
    expect((await connectStatus()).status).toBe(200); // the last file: monitor mode, no policy
    // Enforce mode and a policy that blocks, then comments past 2 MiB: parsed, it would apply.
    const padding = `# ${'x'.repeat(77)}\n`.repeat(30_000);
    const refused = await nextReload(() => {
      renameSync(writeFile(dir, 'kaizen-proxy.yaml.tmp', `${BLOCK_LOOPBACK.join('\n')}\n${padding}`), file);
    });
    expect(refused).toMatchObject({ level: 'error', msg: 'configuration reload refused: keeping the running configuration', trigger: 'file change', code: 'KZP_ERR_CONFIG_INVALID' });
    expect(String(refused['issues'])).toMatch(/^\S+: \(file\): the file is \d+ bytes: a configuration file may hold at most 2 MiB \(2097152 bytes\)$/);
    expect((await connectStatus()).status).toBe(200);
  });
});
