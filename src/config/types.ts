import type { ToolRouteSpec } from '../action/tool-routes.js';
import type { GatewayCredential } from '../gateway/credentials-file.js';
import type { UpstreamProxySettings } from '../net/upstream-proxy.js';
import type { PolicySpec } from '../verdict/policy/policy-spec.js';
import type { HostPort } from './host-port.js';
import type { ENFORCEMENT_MODES, FAIL_MODES, LOG_LEVELS, SNI_MISMATCH_MODES } from './schema.js';

export type LogLevel = (typeof LOG_LEVELS)[number];
export type FailMode = (typeof FAIL_MODES)[number];
export type EnforcementMode = (typeof ENFORCEMENT_MODES)[number];
export type SniMismatchMode = (typeof SNI_MISMATCH_MODES)[number];

/** The validated, frozen configuration: the domain model the rest of the proxy reads. */
export interface ProxyConfig {
  readonly listen: HostPort;
  readonly agent: string;
  readonly controlPlane: {
    readonly url: string;
    /** From KAIZEN_API_KEY or control_plane.api_key_file; null runs on local policy alone. */
    readonly apiKey: string | null;
    readonly apiKeyFile: string | null;
    readonly timeoutMs: number;
  };
  readonly fail: FailMode;
  /** enforce refuses blocked actions; monitor forwards them, logged and reported as would-be blocks. */
  readonly mode: EnforcementMode;
  /** In monitor mode, whether the address guard still refuses. */
  readonly monitorGuard: boolean;
  /** Kaizen policies from the file, validated and normalised; always enforced (synced ones are added). */
  readonly policies: readonly PolicySpec[];
  readonly policySync: { readonly intervalMs: number };
  readonly tls: { readonly sniMismatch: SniMismatchMode };
  /** TLS interception (issue 5); off while `hosts` is empty. */
  readonly intercept: {
    /** intercept.ca_dir, made absolute at load (relative to the working directory at start). */
    readonly caDir: string;
    /** Normalised domain patterns, matched like the policies' `domains`. */
    readonly hosts: readonly string[];
    readonly upstreamCaFile: string | null;
    /** The PEM certificates read from upstreamCaFile at load. */
    readonly upstreamCa: readonly string[];
  };
  /** Requests mapped to tools (validated; compiled by src/action). */
  readonly tools: readonly ToolRouteSpec[];
  /** Derive a publisher from the registrable domain for every egress action. */
  readonly publishers: boolean;
  readonly cache: {
    readonly maxEntries: number;
    readonly allowTtlMs: number;
    readonly blockTtlMs: number;
    readonly staleIfErrorMs: number;
  };
  readonly network: {
    readonly allowPrivate: readonly string[];
    readonly connectTimeoutMs: number;
    readonly idleTimeoutMs: number;
    /** Name lookups reused this long (0: not cached); failures for dnsNegativeTtlMs. */
    readonly dnsTtlMs: number;
    readonly dnsNegativeTtlMs: number;
    /** Deadline for one lookup (0: none). */
    readonly dnsTimeoutMs: number;
    /** A name's last answer serves this long past dnsTtlMs while the resolver gives no answer (never after NXDOMAIN/NODATA). */
    readonly dnsStaleIfErrorMs: number;
  };
  readonly limits: {
    readonly maxConnections: number;
    /** 0: no per-client connection limit. */
    readonly maxConnectionsPerClient: number;
    /** Actions per second per client; 0: no rate limit. */
    readonly clientRatePerSecond: number;
    /** Bucket size; 0 means clientRatePerSecond (at least 1). */
    readonly clientBurst: number;
    readonly maxHeaderBytes: number;
    readonly headerTimeoutMs: number;
    readonly drainTimeoutMs: number;
  };
  readonly log: { readonly level: LogLevel };
  /** Admin listener (/healthz, /readyz, /metrics); null when off. */
  readonly admin: HostPort | null;
  /** Listener for iptables-redirected connections; null when off. */
  readonly transparent: HostPort | null;
  readonly gateway: {
    readonly credentialsFile: string | null;
    /** Read from credentialsFile at load; empty when there is none (no authentication). */
    readonly credentials: readonly GatewayCredential[];
  };
  /** Directory for state that survives a restart (the report spool), as configured (relative to cwd). */
  readonly dataDir: string;
  readonly spool: {
    readonly maxBytes: number;
    readonly replayRatePerSecond: number;
    readonly fsyncIntervalMs: number;
  };
  /** The upstream proxy allowed traffic leaves through (upstream_proxy, resolved with env); null = direct. */
  readonly upstreamProxy: UpstreamProxySettings | null;
  /** The observed-egress record under dataDir/observed/ (kaizen-proxy manifest reads it). */
  readonly observed: {
    readonly enabled: boolean;
    readonly maxDestinations: number;
    readonly flushIntervalMs: number;
  };
  /** Listening beyond loopback without gateway credentials was asked for explicitly. */
  readonly unsafeOpenProxy: boolean;
  /** The file the configuration came from, or null for the embedded defaults. */
  readonly file: string | null;
}

/** Values given on the command line; each overrides env, file and defaults. */
export interface FlagOverrides {
  readonly config?: string;
  readonly listen?: string;
  readonly agent?: string;
  readonly fail?: string;
  readonly mode?: string;
  readonly allowPrivate?: readonly string[];
  readonly logLevel?: string;
  /** HOST:PORT or off. */
  readonly admin?: string;
  /** HOST:PORT or off. */
  readonly transparent?: string;
  /** true: --unsafe-open-proxy; false (wrap mode): the file's unsafe_open_proxy does not apply. */
  readonly unsafeOpenProxy?: boolean;
  /** Wrap mode only, no flag: off drops gateway.credentials_file (the child sends no credentials). */
  readonly gateway?: 'off';
}

export interface ConfigIssue {
  /** "config/x.yaml:12", "env KAIZEN_PROXY_FAIL", "flag --listen". */
  readonly where: string;
  /** Dotted key: "control_plane.timeout". */
  readonly key: string;
  readonly message: string;
}

/**
 * Why a load failed: KZP_ERR_CONFIG_READ when a file named explicitly (the configuration file, or
 * control_plane.api_key_file, gateway.credentials_file, intercept.upstream_ca) could not be read,
 * KZP_ERR_CONFIG_INVALID for everything else.
 */
export type ConfigErrorCode = 'KZP_ERR_CONFIG_INVALID' | 'KZP_ERR_CONFIG_READ';

export type ConfigResult =
  | { readonly ok: true; readonly config: ProxyConfig }
  | { readonly ok: false; readonly code: ConfigErrorCode; readonly issues: readonly ConfigIssue[] };
