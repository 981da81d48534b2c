/** Who a client is, from its Proxy-Authorization header (gateway mode). */
export type ClientIdentity =
  | { readonly ok: true; readonly agent: string }
  | { readonly ok: false; readonly reason: 'missing' | 'malformed' | 'rejected' };

/** Checks one `Proxy-Authorization` value (undefined when absent); must be cheap and never throw. */
export type Authenticate = (proxyAuthorization: string | undefined) => ClientIdentity;
