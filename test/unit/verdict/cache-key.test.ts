import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/contract/action.js';
import { agentKeyPrefix, verdictCacheKey } from '../../../src/verdict/cache-key.js';

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

  it('separates agent, kind, target, tool, method and scheme', () => {
    const keys = new Set([
      verdictCacheKey('a', http('GET', '/')),
      verdictCacheKey('b', http('GET', '/')),
      verdictCacheKey('a', http('POST', '/')),
      verdictCacheKey('a', http('GET', '/', { tool: 'search' })),
      verdictCacheKey('a', http('GET', '/', { target: 'example.org:80' })),
      verdictCacheKey('a', { kind: 'connect', target: 'example.com:80', metadata: { source: 'egress' } }),
      verdictCacheKey('a', { ...http('GET', '/'), metadata: { source: 'egress', method: 'GET', path: '/', scheme: 'ws' } }),
      verdictCacheKey('a', { ...http('GET', '/'), metadata: { source: 'egress', method: 'GET', path: '/', scheme: 'https' } }),
    ]);
    expect(keys.size).toBe(8);
  });

  it('separates a fronting attempt (metadata.sni, connect_host) from a plain CONNECT, and one fronted host from another', () => {
    const connect = (metadata: Action['metadata']): Action => ({ kind: 'connect', target: 'fronted.example:443', metadata });
    const plain = verdictCacheKey('a', connect({ source: 'egress' }));
    const fronted = verdictCacheKey('a', connect({ source: 'egress', sni: 'fronted.example', connect_host: 'allowed.example' }));
    const frontedElsewhere = verdictCacheKey('a', connect({ source: 'egress', sni: 'fronted.example', connect_host: 'other.example' }));
    // Asked again right after a plain CONNECT to the same target (the memo): still its own key.
    expect(verdictCacheKey('a', connect({ source: 'egress' }))).toBe(plain);
    expect(new Set([plain, fronted, frontedElsewhere]).size).toBe(3);
    expect(verdictCacheKey('a', connect({ source: 'egress', sni: 'fronted.example', connect_host: 'allowed.example', event_id: 'e2' }))).toBe(fronted);
    // An SNI alone (a transparent listener's TLS) is part of what the control plane is shown, too.
    expect(verdictCacheKey('a', connect({ source: 'egress', sni: 'fronted.example' }))).not.toBe(plain);
  });

  it('cannot be confused by separators inside a field', () => {
    expect(verdictCacheKey('a","connect', http('GET', '/'))).not.toBe(verdictCacheKey('a', http('GET', '/')));
    // The same characters split differently between fields make different keys.
    expect(verdictCacheKey('a|http|14:example.com:80', http('GET', '/', { tool: 'x' }))).not.toBe(verdictCacheKey('a', http('GET', '/', { tool: 'x' })));
    expect(verdictCacheKey('a', http('GET', '/', { tool: 'x|3:GET' }))).not.toBe(verdictCacheKey('a', http('GET', '/', { tool: 'x' })));
    expect(verdictCacheKey('a', http('-', '/'))).not.toBe(verdictCacheKey('a', { ...http('GET', '/'), metadata: { source: 'egress' } }));
  });
});

describe('verdictCacheKey, asked again', () => {
  it('gives the key made before for the same fields, and a new one when any field changes', () => {
    const first = verdictCacheKey('a', http('GET', '/x'));
    expect(verdictCacheKey('a', http('GET', '/other'))).toBe(first);
    // Each change of one field, asked in turn for the same target, makes that field's own key.
    const changed = [
      verdictCacheKey('b', http('GET', '/')),
      verdictCacheKey('a', http('POST', '/')),
      verdictCacheKey('a', http('GET', '/', { tool: 'search' })),
      verdictCacheKey('a', { kind: 'connect', target: 'example.com:80', metadata: { source: 'egress' } }),
      verdictCacheKey('a', { ...http('GET', '/'), metadata: { source: 'egress', method: 'GET', path: '/', scheme: 'ws' } }),
    ];
    expect(new Set([first, ...changed]).size).toBe(6);
    expect(changed[0]).toBe('1:b|http|14:example.com:80|-|3:GET|http');
    expect(changed[4]).toBe('1:a|http|14:example.com:80|-|3:GET|ws');
    expect(verdictCacheKey('a', http('GET', '/'))).toBe('1:a|http|14:example.com:80|-|3:GET|http');
  });

  it('stays right for more targets than it remembers', () => {
    const keys = new Map<string, string>();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) {
        const target = `host-${String(i)}.example:443`;
        const key = verdictCacheKey('a', { kind: 'connect', target, metadata: { source: 'egress' } });
        expect(key).toBe(`1:a|connect|${String(target.length)}:${target}|-|-|-`);
        if (round === 0) keys.set(target, key);
        else expect(key).toBe(keys.get(target));
      }
    }
  });
});

describe('agentKeyPrefix', () => {
  it('starts every key of its agent and no key of another, whatever the names hold', () => {
    const agents = ['a', 'ab', 'a|b', '1:a', 'a|http'];
    for (const agent of agents) {
      for (const other of agents) {
        const key = verdictCacheKey(other, http('GET', '/'));
        expect(key.startsWith(agentKeyPrefix(agent))).toBe(agent === other);
      }
    }
  });
});
