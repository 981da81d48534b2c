import { describe, expect, it } from 'vitest';
import { methodOverride } from '../../../src/action/method-override.js';

describe('methodOverride', () => {
  it('reads X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override in any case, upper-cased', () => {
    expect(methodOverride(['Host', 'h', 'X-HTTP-Method-Override', 'delete'], '/x')).toEqual({ ok: true, method: 'DELETE' });
    expect(methodOverride(['x-http-method', 'PATCH'], '/x')).toEqual({ ok: true, method: 'PATCH' });
    expect(methodOverride(['X-METHOD-OVERRIDE', 'Put'], '/x')).toEqual({ ok: true, method: 'PUT' });
    expect(methodOverride(['Host', 'h', 'X-HTTP-Method-Overrides', 'DELETE', 'X-Method', 'DELETE'], '/x?method=DELETE')).toEqual({ ok: true, method: undefined });
  });

  it('reads a _method query parameter as PHP and qs read its name', () => {
    for (const query of ['_method=delete', 'a=1&_method=DELETE', '%5Fmethod=DELETE', '_%6Dethod=DELETE', '.method=DELETE', '+_method=DELETE', '_method[]=DELETE', '_method=%44ELETE']) {
      expect(methodOverride([], `/x?${query}`), query).toEqual({ ok: true, method: 'DELETE' });
    }
    expect(methodOverride([], '/x?_METHOD=DELETE&method=DELETE&x_method=DELETE')).toEqual({ ok: true, method: undefined });
    expect(methodOverride([], '/x/_method=DELETE')).toEqual({ ok: true, method: undefined });
  });

  it('refuses more than one field or parameter, whatever their values, and a value that is not a token, without repeating it', () => {
    expect(methodOverride(['X-HTTP-Method-Override', 'DELETE', 'X-HTTP-Method-Override', 'DELETE'], '/x')).toMatchObject({ ok: false });
    expect(methodOverride(['X-HTTP-Method', 'DELETE', 'X-Method-Override', 'DELETE'], '/x')).toMatchObject({ ok: false });
    expect(methodOverride(['X-HTTP-Method', 'DELETE'], '/x?_method=DELETE')).toMatchObject({ ok: false });
    expect(methodOverride([], '/x?_method=DELETE&_method=GET')).toMatchObject({ ok: false });
    for (const value of ['DELETE, GET', '', 'DE LETE', 'DELETE\u00e9', 'secret/value']) {
      const result = methodOverride(['X-HTTP-Method-Override', value], '/x');
      expect(result, value).toMatchObject({ ok: false, message: 'the X-HTTP-Method-Override field is not a method token' });
    }
    expect(methodOverride([], '/x?_method=sec%20ret')).toEqual({ ok: false, message: 'the _method query parameter is not a method token' });
    expect(methodOverride([], '/x?_method')).toMatchObject({ ok: false });
  });
});
