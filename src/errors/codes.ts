/**
 * Every stable error code the proxy emits, with the one-line meaning that the README lists.
 * A test keeps this table and the README in step. Codes are never renamed; new ones are added.
 */
export const ERROR_CODES = {
  KZP_ERR_CONFIG_INVALID: 'A configuration file, variable or flag failed validation.',
  KZP_ERR_CONFIG_READ: 'A configuration file (or api_key_file) named explicitly could not be read.',
  KZP_ERR_BAD_REQUEST: 'A malformed request line, target or header.',
  KZP_ERR_ORIGIN_FORM: 'A request sent to the proxy with an origin-form URI; a proxy expects absolute URIs.',
  KZP_ERR_HEADERS_TOO_LARGE: 'Request headers larger than limits.max_header_bytes.',
  KZP_ERR_HEADER_TIMEOUT: 'Request headers not complete within limits.header_timeout.',
  KZP_ERR_LIMIT_CONNECTIONS: 'limits.max_connections reached; the client should retry later.',
  KZP_ERR_LIMIT_CLIENT_CONNECTIONS: 'limits.max_connections_per_client reached for this client address (429); it should retry later.',
  KZP_ERR_LIMIT_RATE: 'The client started actions faster than limits.client_rate allows (429, with Retry-After); no verdict was asked for.',
  KZP_ERR_BLOCKED: 'The verdict for the action was block.',
  KZP_ERR_GUARD: 'The destination resolved to an address the guard refuses (private, loopback, metadata, the proxy itself).',
  KZP_ERR_NO_VERDICT: 'No verdict could be obtained and the proxy fails closed.',
  KZP_ERR_DNS: 'The destination name could not be resolved.',
  KZP_ERR_UPSTREAM_CONNECT: 'The destination refused or reset the connection.',
  KZP_ERR_UPSTREAM_TIMEOUT: 'The destination did not accept the connection or answer in time.',
  KZP_ERR_UPSTREAM_TLS: 'TLS to the destination failed verification or handshake.',
  KZP_ERR_UPSTREAM_PROTOCOL: 'The destination answered with something that is not valid HTTP.',
  KZP_ERR_CONTROL_PLANE_TIMEOUT: 'The control plane did not answer within control_plane.timeout.',
  KZP_ERR_CONTROL_PLANE_HTTP: 'The control plane answered with an error status.',
  KZP_ERR_CONTROL_PLANE_AUTH: 'The control plane refused the API key (401/403).',
  KZP_ERR_CONTROL_PLANE_ANSWER: 'The control plane answered with a body that is not a valid verdict answer (cut short by a clean close, too large, unreadable).',
  KZP_ERR_CONTROL_PLANE_NETWORK: 'The control plane could not be reached (refused, reset before or while the answer was read, DNS).',
  KZP_ERR_SPOOL: 'The report spool in data_dir could not be opened or written, or dropped actions (spool.max_bytes reached); see the log line for which.',
  KZP_ERR_DECIDER: 'The decision pipeline failed internally; treated as no verdict.',
  KZP_ERR_PROXY_AUTH: 'Gateway mode: Proxy-Authorization missing, malformed or not matching gateway.credentials_file (407).',
  KZP_ERR_TRANSPARENT_DESTINATION: 'Transparent mode: the destination of a redirected connection could not be recovered (no TLS SNI, no HTTP Host, or another protocol).',
  KZP_ERR_CA_UNREADABLE: 'The interception CA (intercept.ca_dir) is missing or unreadable, or is not PEM.',
  KZP_ERR_CA_EXPIRED: 'The interception CA is outside its validity period.',
  KZP_ERR_CA_MISMATCH: 'The interception CA certificate is not a CA, or its key is not its own or not ECDSA P-256.',
  KZP_ERR_CA_EXISTS: 'ca init found a CA already in the directory; --force replaces it.',
  KZP_ERR_MISDIRECTED: 'An intercepted request named another host (Host header or absolute URI) than its CONNECT target, or was a CONNECT itself (421).',
  KZP_ERR_INTERCEPT_TLS: 'TLS with an intercepted client failed: usually a client that does not trust the interception CA.',
  KZP_ERR_UPSTREAM_PROXY: 'An upstream proxy (upstream_proxy) could not be reached, refused our credentials or the CONNECT, or failed; answered 502, never as a block.',
  KZP_ERR_SNI_MISMATCH: 'The TLS SNI of a tunnel named another host than its CONNECT (domain fronting) and tls.sni_mismatch is block; the tunnel was closed.',
  KZP_ERR_LOG_DROPPED: 'Log lines were dropped because standard output was not being read (32 MiB held); the line says how many.',
  KZP_ERR_LOG_LINE: 'A log line could not be made (a bug): a warning with this code stands in its place and the other lines are written.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
