import { describe, expect, it } from 'vitest';
import { withheldFromCommand } from '../../../src/wrap/withheld-variables.js';

describe('withheldFromCommand', () => {
  const withheld = withheldFromCommand(false);

  it('withholds the API key unless --pass-api-key hands it over', () => {
    expect(withheld('KAIZEN_API_KEY', 'kz_live_x')).toBe(true);
    expect(withheldFromCommand(true)('KAIZEN_API_KEY', 'kz_live_x')).toBe(false);
  });

  it('withholds a proxy variable that carries credentials, with or without its scheme, in either case', () => {
    expect(withheld('HTTPS_PROXY', 'http://user:pw@proxy.corp:3128')).toBe(true);
    expect(withheld('http_proxy', 'user:pw@proxy.corp:3128')).toBe(true);
    expect(withheld('ALL_PROXY', 'http://token@proxy.corp:3128/')).toBe(true);
  });

  it("withholds pip's and npm's proxy settings that carry credentials: the command gets the proxy instead", () => {
    expect(withheld('PIP_PROXY', 'http://user:pw@proxy.corp:3128')).toBe(true);
    expect(withheld('npm_config_https_proxy', 'http://user:pw@proxy.corp:3128')).toBe(true);
    expect(withheld('NPM_CONFIG_PROXY', 'user:pw@proxy.corp:3128')).toBe(true);
    expect(withheld('npm_config_proxy', 'http://proxy.corp:3128')).toBe(false);
    expect(withheld('npm_config_registry', 'https://user:pw@registry.corp/')).toBe(false);
  });

  it('leaves a proxy variable without credentials, and other variables, as they are', () => {
    expect(withheld('HTTPS_PROXY', 'http://proxy.corp:3128')).toBe(false);
    expect(withheld('HTTP_PROXY', 'http://proxy.corp:3128/?a=b@c')).toBe(false);
    expect(withheld('NO_PROXY', 'user@example.com')).toBe(false);
    expect(withheld('PATH', '/usr/bin')).toBe(false);
  });
});
