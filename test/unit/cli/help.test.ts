import { describe, expect, it } from 'vitest';
import { HELP } from '../../../src/cli/help.js';
import { envOverrides } from '../../../src/config/overrides.js';

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
});
