import { describe, expect, it } from 'vitest';
import { buildChildEnv, grpcLayer, javaLayer, nodePreloadLayer, type ChildEnvLayer } from '../../../src/wrap/child-env.js';
import { appendRequire } from '../../../src/wrap/node-options.js';
import { endpointFor } from '../../../src/wrap/proxy-endpoint.js';
import { agentFromCommand } from '../../../src/wrap/agent-name.js';

const PROXY = { host: '127.0.0.1', port: 41234 };
const URL = 'http://127.0.0.1:41234';
const ALL = [nodePreloadLayer('/opt/kaizen/dist/preload.cjs'), javaLayer, grpcLayer];

describe('child environment', () => {
  it('sets exactly the variables the issue lists, keeping the rest of the parent', () => {
    const { env, warnings } = buildChildEnv({ PATH: '/usr/bin', HOME: '/home/a' }, PROXY, ALL);
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/a',
      HTTP_PROXY: URL,
      http_proxy: URL,
      HTTPS_PROXY: URL,
      https_proxy: URL,
      ALL_PROXY: URL,
      all_proxy: URL,
      NO_PROXY: 'localhost,127.0.0.1,::1,[::1]',
      no_proxy: 'localhost,127.0.0.1,::1,[::1]',
      NODE_USE_ENV_PROXY: '1',
      NODE_OPTIONS: '--require /opt/kaizen/dist/preload.cjs',
      JAVA_TOOL_OPTIONS:
        '-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=41234 -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=41234 -Dhttp.nonProxyHosts=localhost|127.0.0.1|[::1]',
      GRPC_PROXY: URL,
    });
    expect(warnings).toEqual([]);
  });

  it("replaces the parent's proxy, keeps its NO_PROXY entries (both cases, once) and appends to option variables", () => {
    const { env } = buildChildEnv(
      {
        HTTPS_PROXY: 'http://corporate:3128',
        http_proxy: 'corporate:3128',
        NO_PROXY: '.internal.example, 10.0.0.0/8,localhost',
        no_proxy: 'registry.local:5000,.INTERNAL.example',
        NODE_OPTIONS: '--max-old-space-size=4096',
        JAVA_TOOL_OPTIONS: '-Xmx1g',
      },
      PROXY,
      ALL,
    );
    expect(env['HTTPS_PROXY']).toBe(URL);
    expect(env['http_proxy']).toBe(URL);
    const noProxy = 'localhost,127.0.0.1,::1,[::1],.internal.example,10.0.0.0/8,registry.local:5000';
    expect([env['NO_PROXY'], env['no_proxy']]).toEqual([noProxy, noProxy]);
    expect(env['NODE_OPTIONS']).toBe('--max-old-space-size=4096 --require /opt/kaizen/dist/preload.cjs');
    expect(env['JAVA_TOOL_OPTIONS']).toBe(
      '-Xmx1g -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=41234 -Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=41234 -Dhttp.nonProxyHosts=localhost|127.0.0.1|[::1]|*.internal.example',
    );
  });

  it("withholds the wrapper's KAIZEN_API_KEY from the command unless asked to pass it", () => {
    const parent = { PATH: '/usr/bin', KAIZEN_API_KEY: 'kz_live_secret', KAIZEN_API_URL: 'https://cp.example' };
    const { env } = buildChildEnv(parent, PROXY, ALL);
    expect(env).not.toHaveProperty('KAIZEN_API_KEY');
    expect(env['KAIZEN_API_URL']).toBe('https://cp.example');
    expect(buildChildEnv(parent, PROXY, ALL, { passApiKey: true }).env['KAIZEN_API_KEY']).toBe('kz_live_secret');
  });

  it("drops a NO_PROXY '*' (it would bypass the proxy for everything) and says so", () => {
    const { env, warnings } = buildChildEnv({ no_proxy: '*,example.org' }, PROXY, []);
    expect(env['NO_PROXY']).toBe('localhost,127.0.0.1,::1,[::1],example.org');
    expect(warnings).toEqual(['NO_PROXY entry "*" ignored: it would send every request around the proxy']);
  });

  it('applies later layers after the proxy variables (the seam for CA trust)', () => {
    const ca: ChildEnvLayer = {
      name: 'ca',
      apply(env) {
        env['NODE_EXTRA_CA_CERTS'] = `/ca.pem for ${env['HTTPS_PROXY'] ?? ''}`;
      },
    };
    expect(buildChildEnv({}, PROXY, [ca]).env['NODE_EXTRA_CA_CERTS']).toBe(`/ca.pem for ${URL}`);
  });

  it('quotes a preload path that Node would split, and never adds it twice', () => {
    expect(appendRequire(undefined, '/home/a b/dist/preload.cjs')).toBe('--require "/home/a b/dist/preload.cjs"');
    expect(appendRequire('--inspect', '/x/"q"\\p.cjs')).toBe('--inspect --require "/x/\\"q\\"\\\\p.cjs"');
    const once = appendRequire('', '/home/a b/p.cjs');
    expect(appendRequire(once, '/home/a b/p.cjs')).toBe(once);
  });

  it('reaches a wildcard listener over loopback, and brackets IPv6 in the URL', () => {
    expect(endpointFor({ host: '0.0.0.0', port: 1 })).toEqual({ host: '127.0.0.1', port: 1 });
    expect(buildChildEnv({}, endpointFor({ host: '::', port: 8 }), []).env['HTTP_PROXY']).toBe('http://[::1]:8');
  });

  it('names the agent after the command, acceptably to the schema', () => {
    expect(agentFromCommand('/usr/bin/python3')).toBe('python3');
    expect(agentFromCommand('./my agent.sh')).toBe('my-agent.sh');
    expect(agentFromCommand('/')).toBe('wrapped-agent');
  });
});
