import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import type { FlagOverrides } from '../../../src/config/types.js';
import { createLogger } from '../../../src/observe/logger.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

// The transparent port takes no credentials: beyond loopback (only with unsafe_open_proxy) anyone
// who reaches it uses the proxy as the configured agent, gateway identity or not. The start says so.

const dir = mkdtempSync(join(tmpdir(), 'kzp-transparent-warning-'));
const credentials = join(dir, 'credentials');
writeFileSync(credentials, `ci-bot:${createHash('sha256').update('t0ken').digest('hex')}\n`);
const gatewayFile = join(dir, 'gateway.yaml');
writeFileSync(gatewayFile, `gateway:\n  credentials_file: ${credentials}\n`);

let proxy: KaizenProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the proxy and returns its start-up warnings (written before createProxy resolves). */
async function startWarnings(flags: FlagOverrides): Promise<string[]> {
  const loaded = loadConfig({ env: {}, defaultFile: '/nonexistent/kaizen-proxy.yaml', flags: { listen: '127.0.0.1:0', admin: 'off', ...flags } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const logs = new CapturedLogs();
  // The descriptor-budget warning depends on the host's RLIMIT_NOFILE (descriptor-limit.test.ts).
  proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: logs }), warnDescriptorBudget: false });
  return logs.lines.filter((line) => line['level'] === 'warn').map((line) => String(line.msg));
}

describe('start-up warning for a transparent listener beyond loopback', () => {
  it('warns that it takes no credentials (unsafe_open_proxy), the proxy port on loopback', async () => {
    const warnings = await startWarnings({ transparent: '0.0.0.0:0', unsafeOpenProxy: true });
    expect(warnings).toEqual([expect.stringMatching(/^unsafe_open_proxy: the transparent listener .*beyond loopback.*takes no credentials/)]);
  });

  it('warns with gateway credentials too: redirected clients bypass gateway identity', async () => {
    const warnings = await startWarnings({ config: gatewayFile, listen: '0.0.0.0:0', transparent: '0.0.0.0:0', unsafeOpenProxy: true });
    expect(warnings).toEqual([expect.stringMatching(/^unsafe_open_proxy: the transparent listener .*takes no credentials.*bypasses gateway identity/)]);
  });

  it('says nothing of a transparent listener on loopback', async () => {
    expect(await startWarnings({ config: gatewayFile, transparent: '127.0.0.1:0' })).toEqual([]);
  });
});
