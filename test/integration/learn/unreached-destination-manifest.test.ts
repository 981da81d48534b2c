import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { underNameserver } from '../../helpers/system-resolver.js';
import { cleanEnv, runCli, startServe, tempDir } from '../reflex/cli-process.js';

/**
 * Destinations decided, then never reached. A name that did not resolve is decided (allowed) before its lookup fails, and its client gets
 * 502 KZP_ERR_DNS: nothing was reached. The record counted it as an allow all the same, so the
 * learned manifest declared a destination that does not exist (a typo, a probe, a name someone
 * may register later) and --policy allowed it. So was the front host of a refused domain-fronting
 * attempt: its CONNECT is allowed, then the tunnel is refused at its SNI check, not a byte through.
 * Such actions are now counted (`unreached`, from their closed events) and a destination none of
 * whose forwarded actions reached it is left out.
 */
const run = promisify(execFile);
const AGENT = 'dns-bot';
let origin: Origin;

beforeAll(async () => {
  origin = await startOrigin();
});

afterAll(async () => {
  await origin.close();
});

describe('kaizen-proxy manifest after destinations decided but never reached', () => {
  it('leaves out a destination whose name never resolved, and names it on stderr', async () => {
    const dataDir = join(tempDir(), 'data');
    const env = cleanEnv({ KAIZEN_PROXY_DATA_DIR: dataDir });
    // No nameserver listens on 127.0.0.1:53: only what the hosts file lists resolves.
    const launch = underNameserver('127.0.0.1', { hosts: '127.0.0.1 localhost\n127.0.0.1 real.kzp.test\n' });
    const serve = await startServe(['--listen', '127.0.0.1:0', '--admin', 'off', '--agent', AGENT, '--allow-private', '127.0.0.0/8'], env, undefined, launch);
    const port = String(origin.port);
    const curl = (url: string): Promise<string> =>
      run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--noproxy', '', '-x', `http://127.0.0.1:${String(serve.port)}`, url]).then((r) => r.stdout);
    try {
      expect(await curl(`http://real.kzp.test:${port}/`)).toBe('200');
      expect(await curl(`http://missing.kzp.test:${port}/`)).toBe('502');
      expect(await curl(`http://missing.kzp.test:${port}/again`)).toBe('502');
    } finally {
      expect(await serve.stop()).toBe(0);
    }

    const result = await runCli(['manifest', '--agent', AGENT], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ tools: [], destinations: [`real.kzp.test:${port}`] });
    expect(result.stderr).toContain(`left out, never reached (no address, or refused at the SNI check): missing.kzp.test:${port}`);
    const record = JSON.parse(await readFile(join(dataDir, 'observed', `${AGENT}.json`), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({
      destinations: [
        { target: `missing.kzp.test:${port}`, count: 2, decisions: { allow: 2 }, unreached: 2 },
        { target: `real.kzp.test:${port}`, count: 1, decisions: { allow: 1 }, unreached: 0 },
      ],
    });
  });

  it('leaves out the front host of a domain-fronting tunnel refused at its SNI check', async () => {
    const env = cleanEnv({ KAIZEN_PROXY_DATA_DIR: join(tempDir(), 'data') });
    const serve = await startServe(['--listen', '127.0.0.1:0', '--admin', 'off', '--agent', 'front-bot', '--allow-private', '127.0.0.0/8'], env);
    const port = String(origin.port);
    try {
      // CONNECT 127.0.0.1:port carrying a ClientHello for another name: refused after the 200.
      const fronted = run('curl', ['-sS', '-o', '/dev/null', '--noproxy', '', '-x', `http://127.0.0.1:${String(serve.port)}`, '--connect-to', `other.kzp.test:${port}:127.0.0.1:${port}`, `https://other.kzp.test:${port}/`]);
      await expect(fronted).rejects.toThrow(/access denied/);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    const result = await runCli(['manifest', '--agent', 'front-bot'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ tools: [], destinations: [] });
    expect(result.stderr).toContain(`left out, never reached (no address, or refused at the SNI check): 127.0.0.1:${port}`);
    expect(result.stderr).toContain(`left out, every action refused: other.kzp.test:${port}`);
  });
});
