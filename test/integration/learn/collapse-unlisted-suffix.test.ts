import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { underNameserver } from '../../helpers/system-resolver.js';
import { cleanEnv, runCli, startServe, tempDir } from '../reflex/cli-process.js';

/**
 * `--collapse registrable` on names under a suffix the public suffix list does not name: tldts
 * answers its implicit `*` rule for them, so `payments.default.svc.cluster.local` became
 * `cluster.local`, and `--policy` an allowlist of `cluster.local`, every service of the cluster
 * (the API server's `kubernetes.default.svc.cluster.local` included). The README says such names
 * stay as they are; they now do, and names under a listed suffix still collapse.
 */
const run = promisify(execFile);
const AGENT = 'cluster-bot';
const NAMES = ['payments.default.svc.cluster.local', 'ledger.billing.svc.cluster.local', 'vault.corp.internal', 'api.example.com', 'www.example.com'];
let origin: Origin;

beforeAll(async () => {
  origin = await startOrigin();
});

afterAll(async () => {
  await origin.close();
});

describe('kaizen-proxy manifest --collapse registrable', () => {
  it('keeps names under an unlisted suffix whole, in the manifest and in the policy', async () => {
    const dataDir = join(tempDir(), 'data');
    const env = cleanEnv({ KAIZEN_PROXY_DATA_DIR: dataDir });
    const hosts = `127.0.0.1 localhost\n${NAMES.map((name) => `127.0.0.1 ${name}`).join('\n')}\n`;
    const launch = underNameserver('127.0.0.1', { hosts });
    const serve = await startServe(['--listen', '127.0.0.1:0', '--admin', 'off', '--agent', AGENT, '--allow-private', '127.0.0.0/8'], env, undefined, launch);
    const port = String(origin.port);
    try {
      for (const name of NAMES) {
        const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--noproxy', '', '-x', `http://127.0.0.1:${String(serve.port)}`, `http://${name}:${port}/`]);
        expect(stdout).toBe('200');
      }
    } finally {
      expect(await serve.stop()).toBe(0);
    }

    const manifest = await runCli(['manifest', '--agent', AGENT, '--collapse', 'registrable'], env);
    expect(manifest.code).toBe(0);
    expect(JSON.parse(manifest.stdout)).toEqual({
      tools: [],
      destinations: [`example.com:${port}`, `ledger.billing.svc.cluster.local:${port}`, `payments.default.svc.cluster.local:${port}`, `vault.corp.internal:${port}`],
    });
    const policy = await runCli(['manifest', '--agent', AGENT, '--collapse', 'registrable', '--policy'], env);
    expect(policy.code).toBe(0);
    expect(parse(policy.stdout)).toEqual({
      policies: [
        {
          name: `learned-${AGENT}`,
          mode: 'allowlist',
          rules: { domains: ['example.com', 'ledger.billing.svc.cluster.local', 'payments.default.svc.cluster.local', 'vault.corp.internal'] },
        },
      ],
    });
  });
});
