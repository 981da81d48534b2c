import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalHost } from '../../../src/action/canonical-host.js';

const label = fc.stringMatching(/^[a-z0-9_-]{1,12}$/);
const lastLabel = fc.stringMatching(/^[a-z_-][a-z0-9_-]{0,11}$/);
const canonicalName = fc.tuple(fc.array(label, { maxLength: 4 }), lastLabel).map(([labels, last]) => [...labels, last].join('.'));
const octet = fc.integer({ min: 0, max: 255 });

describe('canonicalHost fast path', () => {
  it('returns canonical names unchanged, as the full pipeline would', () => {
    fc.assert(
      fc.property(canonicalName, (name) => {
        expect(canonicalHost(name)).toEqual({ ok: true, value: { host: name, hostType: 'dns' } });
        // The same name spelled so that it must take the slow path lands on the same answer.
        expect(canonicalHost(`${name.toUpperCase()}.`)).toEqual({ ok: true, value: { host: name, hostType: 'dns' } });
      }),
      { seed: 20261128, numRuns: 2000 },
    );
  });

  it('returns canonical dotted quads unchanged, and normalises the other spellings', () => {
    fc.assert(
      fc.property(octet, octet, octet, octet, (a, b, c, d) => {
        const dotted = `${a}.${b}.${c}.${d}`;
        const ok = { ok: true, value: { host: dotted, hostType: 'ipv4' } };
        expect(canonicalHost(dotted)).toEqual(ok);
        expect(canonicalHost(String(((a << 24) >>> 0) + (b << 16) + (c << 8) + d))).toEqual(ok);
      }),
      { seed: 20261128, numRuns: 2000 },
    );
  });

  it('still sends look-alikes through the full pipeline', () => {
    expect(canonicalHost('xn--bcher-kva.example')).toEqual({ ok: true, value: { host: 'xn--bcher-kva.example', hostType: 'dns' } });
    expect(canonicalHost('xn--zz.example').ok).toBe(false);
    expect(canonicalHost('0177.0.0.1')).toEqual({ ok: true, value: { host: '127.0.0.1', hostType: 'ipv4' } });
    expect(canonicalHost('127.000.0.1')).toEqual({ ok: true, value: { host: '127.0.0.1', hostType: 'ipv4' } });
    expect(canonicalHost('example.0x1f').ok).toBe(false);
  });
});
