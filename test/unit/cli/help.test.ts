import { describe, expect, it } from 'vitest';
import { HELP } from '../../../src/cli/help.js';
import { envOverrides } from '../../../src/config/overrides.js';
import { buildChildEnv } from '../../../src/wrap/child-env.js';
import { wrapLayers } from '../../../src/wrap/wrap-layers.js';

describe('--help', () => {
  it('names every environment variable the configuration honours', () => {
    // Every name envOverrides reads, found by setting them all (PORT is read only without KAIZEN_PROXY_LISTEN).
    const names = ['KAIZEN_API_URL', 'KAIZEN_AGENT', 'KAIZEN_PROXY_FAIL', 'KAIZEN_PROXY_MODE', 'LOG_LEVEL', 'KAIZEN_PROXY_DATA_DIR', 'KAIZEN_PROXY_LISTEN'];
    const read = envOverrides(Object.fromEntries(names.map((name) => [name, 'x']))).map((override) => override.where.replace(/^env /, ''));
    expect(read).toEqual(names);
    const honoured = [...read, 'PORT', 'KAIZEN_API_KEY', 'KAIZEN_PROXY_CONFIG'];
    const environment = HELP.slice(HELP.indexOf('\nEnvironment:'));
    expect(honoured.filter((name) => !new RegExp(`\\b${name}\\b`).test(environment))).toEqual([]);
  });

  it("sums up every variable a wrapped command's environment gains", () => {
    // A parent with the variables some layers only replace (pip's, git -c's), so every layer sets all it can.
    const parent = { PATH: '/usr/bin', PIP_PROXY: 'http://other.example:3128', GIT_CONFIG_PARAMETERS: "'core.pager=cat'" };
    const { env } = buildChildEnv(parent, { host: '127.0.0.1', port: 8080 }, wrapLayers('/opt/kaizen-proxy/dist/preload.cjs'));
    const parentEnv: Record<string, string | undefined> = parent;
    const gained = Object.keys(env).filter((name) => env[name] !== parentEnv[name]);
    // Named as help writes them: numbered git pairs as _n; lower-case twins of the proxy variables by their upper case.
    const named = new Set(gained.map((name) => name.replace(/^(GIT_CONFIG_(?:KEY|VALUE))_\d+$/, '$1_n')).map((name) => (/^[a-z]+_proxy$/.test(name) ? name.toUpperCase() : name)));
    const summary = HELP.slice(HELP.indexOf('\nWrap mode:'), HELP.indexOf('\nEnvironment:'));
    expect([...named].filter((name) => !new RegExp(`(?<![\\w])${name}(?![\\w])`).test(summary))).toEqual([]);
    for (const name of ['npm_config_proxy', 'PIP_PROXY', 'GIT_CONFIG_COUNT', 'GIT_CONFIG_PARAMETERS']) expect(named).toContain(name);
  });
});
