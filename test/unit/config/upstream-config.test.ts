import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { redactedConfig } from '../../../src/config/redacted-config.js';
import { tempDir, writeFile } from '../../integration/reflex/cli-process.js';

function load(yaml: string, env: NodeJS.ProcessEnv = {}, listen = '127.0.0.1:0'): ReturnType<typeof loadConfig> {
  return loadConfig({ env, flags: { config: writeFile(tempDir(), 'k.yaml', yaml), listen } });
}

describe('upstream_proxy and upstream_no_proxy', () => {
  it('default: direct', () => {
    const loaded = load('admin: off');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.config.upstreamProxy).toBeNull();
  });

  it('a URL serves tunnels and plain requests; check-config never prints its password', () => {
    const loaded = load('admin: off\nupstream_proxy: http://me:hunter2@proxy.corp:3128\nupstream_no_proxy: [".svc", "10.0.0.0/8"]');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.config.upstreamProxy).toMatchObject({ source: 'config', https: { url: 'http://proxy.corp:3128' }, http: { url: 'http://proxy.corp:3128' }, noProxy: ['svc', '10.0.0.0/8'] });
    expect(redactedConfig(loaded.config)).not.toContain('hunter2');
  });

  it('a bad URL or entry is an error naming the key and line, never the password', () => {
    const loaded = load('admin: off\nupstream_proxy: https://me:hunter2@proxy.corp:3128\nupstream_no_proxy: ["a b"]');
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.issues.map((issue) => issue.key).sort()).toEqual(['upstream_no_proxy.0', 'upstream_proxy']);
    expect(JSON.stringify(loaded.issues)).not.toContain('hunter2');
  });

  it('env: https_proxy before HTTPS_PROXY for tunnels, HTTP_PROXY for plain requests, NO_PROXY added', () => {
    const loaded = load('admin: off\nupstream_proxy: env\nupstream_no_proxy: [internal.example]', {
      https_proxy: 'http://a:b@lower:3128',
      HTTPS_PROXY: 'http://upper:3128',
      HTTP_PROXY: 'plain-proxy:8080',
      NO_PROXY: 'localhost,.svc,<local>',
    });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.config.upstreamProxy).toMatchObject({
      source: 'env',
      https: { url: 'http://lower:3128', username: 'a' },
      http: { url: 'http://plain-proxy:8080', username: null },
      noProxy: ['internal.example', 'localhost', 'svc'],
      ignored: [],
    });
  });

  it('env: a malformed variable is an error naming the variable, not its value', () => {
    const loaded = load('admin: off\nupstream_proxy: env', { HTTPS_PROXY: 'socks5://u:topsecret@x:1' });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.issues[0]).toMatchObject({ where: 'env HTTPS_PROXY', key: 'upstream_proxy' });
    expect(JSON.stringify(loaded.issues)).not.toContain('topsecret');
  });

  it('no loop: env naming our own listener is ignored (and said so); a configured one is refused', () => {
    const fromEnv = load('upstream_proxy: env\nadmin: 127.0.0.1:9911', { HTTPS_PROXY: 'http://localhost:18080', HTTP_PROXY: 'http://127.0.0.1:9911' }, '127.0.0.1:18080');
    if (!fromEnv.ok) throw new Error(JSON.stringify(fromEnv.issues));
    expect(fromEnv.config.upstreamProxy).toMatchObject({ https: null, http: null, ignored: ['HTTPS_PROXY', 'HTTP_PROXY'] });
    const configured = load('admin: off\nupstream_proxy: http://localhost:18080', {}, '127.0.0.1:18080');
    expect(configured.ok).toBe(false);
    if (configured.ok) return;
    expect(configured.issues[0]?.message).toMatch(/own listener/);
  });
});
