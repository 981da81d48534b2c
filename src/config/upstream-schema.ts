import { z } from 'zod';
import { normaliseNoProxyEntry } from '../net/no-proxy-rules.js';
import { parseUpstreamProxyUrl } from '../net/upstream-proxy.js';

/** `upstream_proxy`: an http:// URL (credentials allowed), `env`, or null (direct). Messages never echo the value. */
export const upstreamProxySchema = z
  .string()
  .superRefine((text, ctx) => {
    if (text === 'env') return;
    const parsed = parseUpstreamProxyUrl(text);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `${parsed}, or env` });
  })
  .nullable()
  .describe('Upstream proxy allowed traffic leaves through: http://[user:pass@]host:port, env (this process\'s HTTPS_PROXY/HTTP_PROXY/NO_PROXY), or null for direct.')
  .default(null);

/** `upstream_no_proxy`: destinations reached directly even with an upstream proxy, in canonical form. */
export const upstreamNoProxySchema = z
  .array(
    z.string().transform((text, ctx) => {
      const entry = normaliseNoProxyEntry(text);
      if (typeof entry === 'string') return entry;
      ctx.addIssue({ code: 'custom', message: entry.error });
      return z.NEVER;
    }),
  )
  .max(10_000)
  .describe('Destinations that bypass the upstream proxy: * , a domain (and its subdomains), an IP or CIDR, each with an optional :port.')
  .default([]);
