import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/contract/action.js';
import { verdictCacheKey } from '../../../src/verdict/cache-key.js';

const http = (method: string, path: string, extra: Partial<Action> = {}): Action => ({
  kind: 'http',
  target: 'example.com:80',
  metadata: { source: 'egress', method, path, scheme: 'http' },
  ...extra,
});

describe('verdictCacheKey', () => {
  it('ignores the path and every other per-request detail', () => {
    expect(verdictCacheKey('a', http('GET', '/x'))).toBe(verdictCacheKey('a', http('GET', '/y/z')));
    expect(verdictCacheKey('a', { ...http('GET', '/x'), metadata: { source: 'egress', method: 'GET', event_id: 'e1' } })).toBe(
      verdictCacheKey('a', { ...http('GET', '/x'), metadata: { source: 'egress', method: 'GET', event_id: 'e2' } }),
    );
  });

  it('separates agent, kind, target, tool and method', () => {
    const keys = new Set([
      verdictCacheKey('a', http('GET', '/')),
      verdictCacheKey('b', http('GET', '/')),
      verdictCacheKey('a', http('POST', '/')),
      verdictCacheKey('a', http('GET', '/', { tool: 'search' })),
      verdictCacheKey('a', http('GET', '/', { target: 'example.org:80' })),
      verdictCacheKey('a', { kind: 'connect', target: 'example.com:80', metadata: { source: 'egress' } }),
    ]);
    expect(keys.size).toBe(6);
  });

  it('cannot be confused by separators inside a field', () => {
    expect(verdictCacheKey('a","connect', http('GET', '/'))).not.toBe(verdictCacheKey('a', http('GET', '/')));
    // The same characters split differently between fields make different keys.
    expect(verdictCacheKey('a|http|14:example.com:80', http('GET', '/', { tool: 'x' }))).not.toBe(verdictCacheKey('a', http('GET', '/', { tool: 'x' })));
    expect(verdictCacheKey('a', http('GET', '/', { tool: 'x|3:GET' }))).not.toBe(verdictCacheKey('a', http('GET', '/', { tool: 'x' })));
    expect(verdictCacheKey('a', http('-', '/'))).not.toBe(verdictCacheKey('a', { ...http('GET', '/'), metadata: { source: 'egress' } }));
  });
});
