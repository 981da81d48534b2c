import { z } from 'zod';
import { DOT_SEGMENT_EXPECTED, isDotSegment } from '../contract/agent-name.js';
import { parseCidr } from '../net/cidr.js';
import { parsePolicies } from '../verdict/policy/parse-policies.js';
import { filePoliciesWire } from '../verdict/policy/policy-wire.js';
import { byteSize } from './byte-size.js';
import { duration } from './duration.js';
import { hostPort } from './host-port.js';
import { hostPortOrOff } from './listener-or-off.js';
import { unsentPartsProblem } from './unsent-url-parts.js';
import { observedSchema } from './observed-schema.js';
import { upstreamNoProxySchema, upstreamProxySchema } from './upstream-schema.js';
import { interceptSchema, publishersSchema, toolsSchema } from './intercept-schema.js';

/**
 * The YAML file's schema: the single source of truth for keys, types, defaults and descriptions.
 * Strict: an unknown key is an error. The API key never comes from here (env or api_key_file only).
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const FAIL_MODES = ['closed', 'open'] as const;
export const ENFORCEMENT_MODES = ['enforce', 'monitor'] as const;
export const SNI_MISMATCH_MODES = ['block', 'allow'] as const;

export const leaf = {
  listen: hostPort('Address the proxy listens on. Loopback unless told otherwise.'),
  agent: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s/\\]+$/, 'expected an agent name without spaces or slashes')
    .superRefine((name, ctx) => {
      if (isDotSegment(name)) ctx.addIssue({ code: 'custom', message: `${DOT_SEGMENT_EXPECTED}, got ${JSON.stringify(name)}` });
    })
    .describe('Agent name reported with every action (not . or ..).'),
  url: z
    .url('expected an http:// or https:// URL')
    .refine((text) => /^https?:\/\//i.test(text), 'expected an http:// or https:// URL')
    .superRefine((text, ctx) => {
      const problem = unsentPartsProblem(text);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .transform((text) => text.replace(/\/+$/, ''))
    .describe('Base URL of the Kaizen control plane.'),
  fail: z.enum(FAIL_MODES).describe('What happens when no verdict can be obtained: closed refuses (503), open allows and logs it.'),
  logLevel: z.enum(LOG_LEVELS).describe('Minimum log level.'),
  mode: z.enum(ENFORCEMENT_MODES).describe('enforce refuses what is blocked; monitor forwards it and logs would_block.'),
  cidr: z
    .string()
    .refine((text) => parseCidr(text) !== undefined, 'expected an IP address or CIDR range such as 10.0.0.0/8 or fd00::/8')
    .describe('An address range opened to the proxy despite the private-address guard.'),
} as const;

const positiveInt = (description: string, max: number) => z.number().int().min(1).max(max).describe(description);

export const controlPlaneSchema = z.strictObject({
  url: leaf.url.prefault('https://api.getkaizen.io'),
  api_key_file: z.string().min(1).nullable().default(null).describe('File holding the API key (e.g. a mounted Kubernetes Secret).'),
  timeout: duration('Deadline for one verdict, its one retry included.', { max: 60_000 }).prefault('1500ms'),
});

export const cacheSchema = z.strictObject({
  max_entries: positiveInt('Verdicts kept in the LRU cache.', 10_000_000).default(10_000),
  allow_ttl: duration('How long an allow verdict is reused (0s: never reused).', { min: 0 }).prefault('5m'),
  block_ttl: duration('How long a block verdict is reused (0s: never reused).', { min: 0 }).prefault('30s'),
  stale_if_error: duration('How long past expiry a verdict may serve while the control plane fails (0s: never).', { min: 0 }).prefault('1h'),
});

export const networkSchema = z.strictObject({
  allow_private: z.array(leaf.cidr).default([]),
  connect_timeout: duration('Deadline for each connection attempt to a destination (with several addresses, the next starts after 250 ms).', { max: 600_000 }).prefault('10s'),
  idle_timeout: duration('Idle tunnels and keep-alive sockets are closed after this.').prefault('5m'),
  dns_ttl: duration('How long a name lookup is reused (0s looks up every time).', { min: 0 }).prefault('30s'),
  dns_negative_ttl: duration('How long a failed name lookup is reused (0s: never reused).', { min: 0, max: 3_600_000 }).prefault('5s'),
  dns_timeout: duration('Deadline for one name lookup; past it the lookup fails (502 KZP_ERR_DNS, or the stale answer), unless one address family has answered.', { max: 600_000 }).prefault('5s'),
  dns_stale_if_error: duration('How long past dns_ttl a name\'s last answer may serve while the resolver gives no answer (0s: never); never after the name is gone (NXDOMAIN, NODATA).', { min: 0 }).prefault('5m'),
});

export const limitsSchema = z.strictObject({
  max_connections: positiveInt('Client connections open at once; beyond it new clients get 503.', 1_000_000).default(10_000),
  max_connections_per_client: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .describe('Connections one client address may hold at once; beyond it that client gets 429 (0: no per-client limit).')
    .default(0),
  client_rate: z
    .number()
    .min(0)
    .max(1_000_000)
    .describe('Actions (tunnels and requests) one client may start per second, on average; beyond it 429 with Retry-After (0: no rate limit). A client is its gateway agent, else its address.')
    .default(0),
  client_burst: z.number().int().min(0).max(1_000_000).describe('Actions a client may start at once beyond client_rate (0: as many as client_rate, at least 1).').default(0),
  max_header_bytes: z.number().int().min(1024).max(1_048_576).describe('Largest request head accepted; beyond it 431.').default(16_384),
  header_timeout: duration('Deadline for a complete request head (slowloris).', { max: 600_000 }).prefault('30s'),
  drain_timeout: duration('On SIGTERM, how long requests in flight and open tunnels may finish before what is left is closed (0s: no drain, closed at once).', { min: 0, max: 600_000 }).prefault('10s'),
});

export const gatewaySchema = z.strictObject({
  credentials_file: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe('File of agent:sha256hex(token) lines; when set, clients must send Proxy-Authorization: Basic agent:token (407 otherwise).'),
});

export const logSchema = z.strictObject({
  level: leaf.logLevel.default('info'),
});

/** Kaizen policies: the wire shape, then parse-policies.ts, whose issues name the policy and the key. */
export const policiesSchema = filePoliciesWire
  .describe('Kaizen policies enforced locally: {mode: blocklist|allowlist|correlation, rules, name?, enabled?}.')
  .transform((list, ctx) => {
    const parsed = parsePolicies(list);
    if (parsed.ok) return parsed.policies;
    for (const issue of parsed.issues) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
    return z.NEVER;
  });

export const policySyncSchema = z.strictObject({
  interval: duration('How often the control plane\'s policies are fetched (with an API key); each wait is drawn from 90% to 100% of it.', { min: 1000 }).prefault('60s'),
});

export const tlsSchema = z.strictObject({
  sni_mismatch: z
    .enum(SNI_MISMATCH_MODES)
    .describe('A tunnel whose TLS SNI differs from its CONNECT host: block refuses it (domain fronting); allow decides the SNI on its own.')
    .default('block'),
});

/** The durable spool of actions the control plane did not receive when they happened (issue 7). */
export const spoolSchema = z.strictObject({
  max_bytes: byteSize('Bound of the spool on disk; past it the oldest entries are dropped (counted and logged).', 32 * 1024, 16 * 1024 ** 3).prefault('64MiB'),
  replay_rate: z
    .number()
    .positive()
    .max(10_000)
    .describe('Spooled actions replayed per second at most once the control plane answers again, so replay never starves live verdicts.')
    .default(50),
  fsync_interval: duration('Appends are written and fsynced in batches at least this often.', { max: 10_000 }).prefault('100ms'),
});

export const fileSchema = z.strictObject({
  listen: leaf.listen.prefault('127.0.0.1:8080'),
  agent: leaf.agent.default('egress-agent'),
  control_plane: controlPlaneSchema.prefault({}),
  fail: leaf.fail.default('closed'),
  mode: leaf.mode.default('enforce'),
  monitor_guard: z.boolean().describe('In monitor mode, the address guard still refuses (true) or only logs (false).').default(true),
  policies: policiesSchema.default([]),
  policy_sync: policySyncSchema.prefault({}),
  tls: tlsSchema.prefault({}),
  intercept: interceptSchema.prefault({}),
  tools: toolsSchema.default([]),
  publishers: publishersSchema.default(true),
  cache: cacheSchema.prefault({}),
  network: networkSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  log: logSchema.prefault({}),
  admin: hostPortOrOff('Admin listener (/healthz, /readyz, /metrics), or off.', '127.0.0.1:9901').prefault('127.0.0.1:9901'),
  transparent: hostPortOrOff('Listener for connections redirected by iptables (TLS SNI or HTTP Host recovers the destination), or off.', '127.0.0.1:15001').prefault('off'),
  gateway: gatewaySchema.prefault({}),
  data_dir: z
    .string()
    .min(1)
    .describe('Directory for state that must survive a restart (the report spool); an emptyDir in Kubernetes.')
    .default('.kaizen-proxy/'),
  spool: spoolSchema.prefault({}),
  upstream_proxy: upstreamProxySchema,
  upstream_no_proxy: upstreamNoProxySchema,
  observed: observedSchema.prefault({}),
  unsafe_open_proxy: z
    .boolean()
    .default(false)
    .describe('Allow listening beyond loopback without gateway credentials: anyone who reaches the port can use the proxy.'),
});

export type FileConfig = z.output<typeof fileSchema>;
export type FileConfigInput = z.input<typeof fileSchema>;
