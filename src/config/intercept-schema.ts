import { z } from 'zod';
import { parseToolRoute } from '../action/tool-routes.js';
import { DEFAULT_CA_DIR } from '../intercept/ca-files.js';
import { domainEntry } from '../verdict/policy/rule-values.js';

/** `intercept`, `tools` and `publishers`: TLS interception and what egress actions are named (issue 5). */
const domainPattern = z.string().transform((raw, ctx) => {
  const entry = domainEntry(raw);
  if (entry.ok) return entry.value;
  ctx.addIssue({ code: 'custom', message: entry.message });
  return z.NEVER;
});

export const interceptSchema = z.strictObject({
  ca_dir: z.string().min(1).describe('Directory holding the interception CA (ca.pem, ca-key.pem), made by kaizen-proxy ca init.').default(DEFAULT_CA_DIR),
  hosts: z
    .array(domainPattern)
    .max(10_000)
    .describe('CONNECT targets whose TLS is terminated, as domain patterns of policies (a domain and its subdomains; "*.x" alike; IPs exact). Empty: interception off.')
    .default([]),
  upstream_ca: z
    .string()
    .min(1)
    .nullable()
    .describe('PEM file of CAs trusted, besides Node’s default store (bundled roots, NODE_EXTRA_CA_CERTS), for TLS the proxy originates (intercepted requests, https:// and wss:// forwarding).')
    .default(null),
});

const label = (what: string) =>
  z
    .string()
    .min(1)
    .max(200)
    .regex(/^\S+$/, `expected a ${what} without spaces`);

const toolRouteSchema = z
  .strictObject({
    match: z.string().min(1).max(2048).describe('"[METHOD[|METHOD]] HOST[:PORT][/PATH-GLOB]": * is part of one path segment, ** any segments.'),
    tool: label('tool name').describe('The tool the matching request is reported as (kind tool_call).'),
    publisher: label('publisher').optional().describe('The publisher reported with it; derived from the domain when absent.'),
  })
  .superRefine((spec, ctx) => {
    const parsed = parseToolRoute(spec);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', path: ['match'], message: parsed.message });
  });

export const toolsSchema = z
  .array(toolRouteSchema)
  .max(10_000)
  .describe('Requests mapped to tools, first match wins; needs intercept.hosts for HTTPS (plain http:// requests match too).');

export const publishersSchema = z
  .boolean()
  .describe('Every egress action carries a publisher derived from its registrable domain (api.stripe.com → stripe); false: only routes name one.');
