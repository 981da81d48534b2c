import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors/codes.js';
import { KaizenProxyError } from '../../../src/errors/kaizen-error.js';

function readmeCodes(): Map<string, string> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = /<!-- error-codes:start -->([\s\S]*?)<!-- error-codes:end -->/.exec(readme)?.[1] ?? '';
  const rows = new Map<string, string>();
  for (const match of section.matchAll(/^\| `(KZP_ERR_[A-Z_]+)` \| (.*) \|$/gm)) {
    if (match[1] !== undefined && match[2] !== undefined) rows.set(match[1], match[2]);
  }
  return rows;
}

describe('error codes', () => {
  it('the README lists exactly the codes in src/errors/codes.ts, with the same meanings', () => {
    expect(Object.fromEntries(readmeCodes())).toEqual({ ...ERROR_CODES });
  });

  it('every code is namespaced and a KaizenProxyError carries it', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(code).toMatch(/^KZP_ERR_[A-Z_]+$/);
    const error = new KaizenProxyError('KZP_ERR_DNS', 'no such host');
    expect(error.code).toBe('KZP_ERR_DNS');
    expect(error).toBeInstanceOf(Error);
  });
});
