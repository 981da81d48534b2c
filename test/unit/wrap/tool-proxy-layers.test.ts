import { describe, expect, it } from 'vitest';
import { buildChildEnv } from '../../../src/wrap/child-env.js';
import { gitProxyLayer } from '../../../src/wrap/git-proxy.js';
import { npmProxyLayer } from '../../../src/wrap/npm-proxy.js';
import { pipConfigFiles, pipConfigNamesProxy } from '../../../src/wrap/pip-config-proxy.js';
import { pipProxyLayer } from '../../../src/wrap/pip-proxy.js';

const PROXY = { host: '127.0.0.1', port: 41234 };
const URL = 'http://127.0.0.1:41234';
const LAYERS = [npmProxyLayer, pipProxyLayer(() => false), gitProxyLayer];

describe('tool proxy settings in the child environment', () => {
  it('replaces every spelling npm reads as proxy, https-proxy or noproxy, merging the noproxy entries', () => {
    const parent = { NPM_CONFIG_PROXY: 'http://other:1', 'npm_config_https-proxy': 'http://other:2', NPM_CONFIG_HTTPS_PROXY: 'http://other:3', npm_config_noproxy: 'corp.example,*', NO_PROXY: 'a.example', npm_config_registry: 'http://r.example/' };
    const { env } = buildChildEnv(parent, PROXY, LAYERS);
    const npm = Object.fromEntries(Object.entries(env).filter(([name]) => /^npm_config_/i.test(name)));
    expect(npm).toEqual({
      npm_config_proxy: URL,
      npm_config_https_proxy: URL,
      npm_config_noproxy: 'localhost,127.0.0.1,::1,[::1],a.example,corp.example',
      npm_config_registry: 'http://r.example/',
    });
  });

  it('points an inherited PIP_PROXY at the proxy and adds none otherwise', () => {
    expect(buildChildEnv({ PIP_PROXY: 'http://other:1' }, PROXY, LAYERS).env['PIP_PROXY']).toBe(URL);
    expect('PIP_PROXY' in buildChildEnv({}, PROXY, LAYERS).env).toBe(false);
    expect(buildChildEnv({ PIP_PROXY: '' }, PROXY, LAYERS).env['PIP_PROXY']).toBe('');
    expect(buildChildEnv({}, PROXY, [pipProxyLayer(() => true)]).env['PIP_PROXY']).toBe(URL);
  });

  it('finds a proxy in the pip.conf files pip reads, in any section, and only a non-empty one', () => {
    const env = { HOME: '/h', XDG_CONFIG_DIRS: '/a:/b', VIRTUAL_ENV: '/v', PIP_CONFIG_FILE: '/p.conf' };
    expect(pipConfigFiles(env)).toEqual(['/a/pip/pip.conf', '/b/pip/pip.conf', '/etc/pip.conf', '/v/pip.conf', '/h/.pip/pip.conf', '/h/.config/pip/pip.conf', '/p.conf']);
    const files: Record<string, string> = { '/h/.config/pip/pip.conf': '[global]\nindex-url = http://i.example/\n[download]\nProxy: http://other:1\n' };
    expect(pipConfigNamesProxy(env, (file) => files[file] ?? null)).toBe(true);
    expect(pipConfigNamesProxy(env, (file) => (file === '/v/pip.conf' ? '[global]\nproxy =\n# proxy = http://x\n' : null))).toBe(false);
  });

  it("appends http.proxy after the parent's GIT_CONFIG_COUNT pairs", () => {
    const { env } = buildChildEnv({ GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'a.b', GIT_CONFIG_VALUE_0: '1', GIT_CONFIG_KEY_1: 'http.proxy', GIT_CONFIG_VALUE_1: 'http://other:1' }, PROXY, LAYERS);
    expect(env).toMatchObject({ GIT_CONFIG_COUNT: '3', GIT_CONFIG_KEY_0: 'a.b', GIT_CONFIG_VALUE_1: 'http://other:1', GIT_CONFIG_KEY_2: 'http.proxy', GIT_CONFIG_VALUE_2: URL });
    expect(buildChildEnv({ GIT_CONFIG_COUNT: '' }, PROXY, LAYERS).env).toMatchObject({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.proxy', GIT_CONFIG_VALUE_0: URL });
  });

  it("appends http.proxy to an inherited GIT_CONFIG_PARAMETERS, and adds none where there was none", () => {
    expect(buildChildEnv({ GIT_CONFIG_PARAMETERS: "'http.proxy'='http://other:1'" }, PROXY, LAYERS).env['GIT_CONFIG_PARAMETERS']).toBe(`'http.proxy'='http://other:1' 'http.proxy=${URL}'`);
    expect('GIT_CONFIG_PARAMETERS' in buildChildEnv({}, PROXY, LAYERS).env).toBe(false);
  });

  it('leaves a GIT_CONFIG_COUNT git refuses for git to refuse', () => {
    const { env } = buildChildEnv({ GIT_CONFIG_COUNT: 'two' }, PROXY, LAYERS);
    expect(env['GIT_CONFIG_COUNT']).toBe('two');
    expect('GIT_CONFIG_KEY_0' in env).toBe(false);
  });
});
