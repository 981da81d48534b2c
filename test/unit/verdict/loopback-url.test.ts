import { describe, expect, it } from 'vitest';
import { isLoopbackUrl } from '../../../src/verdict/loopback-url.js';

describe('isLoopbackUrl', () => {
  it.each(['http://localhost:8080', 'http://api.localhost', 'http://127.0.0.1', 'http://127.9.9.9:1', 'http://[::1]:9', 'http://[::ffff:127.0.0.1]/'])(
    '%s is loopback',
    (url) => {
      expect(isLoopbackUrl(new URL(url))).toBe(true);
    },
  );

  it.each(['http://api.getkaizen.io', 'http://10.0.0.1', 'http://[::ffff:10.0.0.1]', 'http://127.0.0.1.example.com', 'http://localhost.example.com'])(
    '%s is not',
    (url) => {
      expect(isLoopbackUrl(new URL(url))).toBe(false);
    },
  );
});
