/** Who a client is, from its Proxy-Authorization header (gateway mode). */
export type ClientIdentity = AdmittedIdentity | { readonly ok: false; readonly reason: 'missing' | 'malformed' | 'rejected' };

/** An agent whose credentials matched a listed identity. */
export interface AdmittedIdentity {
  readonly ok: true;
  readonly agent: string;
  /** The listed digest its token matched (never the token): what `admits` checks again. */
  readonly sha256: string;
}

/**
 * Checks one `Proxy-Authorization` value (undefined when absent); must be cheap and never throw.
 * `admits` says whether an identity it admitted earlier is admitted still: a reload may since have
 * removed the agent or changed its token. Asked on each request of a connection authenticated once,
 * at its CONNECT (an intercepted session); a lookup, no hashing.
 */
export interface Authenticate {
  (proxyAuthorization: string | undefined): ClientIdentity;
  readonly admits: (identity: AdmittedIdentity) => boolean;
}
