import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';

describe('public entry', () => {
  it('exports exactly the documented runtime names', () => {
    expect(Object.keys(api).sort()).toEqual(
      ['ERROR_CODES', 'KaizenProxyError', 'VERSION', 'createProxy', 'formatIssues', 'isKaizenProxyError', 'loadConfig'].sort(),
    );
  });

  it('reports the package version', () => {
    expect(api.VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
