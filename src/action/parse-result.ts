/**
 * The result of parsing client input: a value, or a refusal the proxy answers with 400.
 * `message` is shown to the client as is, so it is a constant text that never echoes the input
 * (no header injection, no reflected content) and never names internals.
 */
export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: 'KZP_ERR_BAD_REQUEST'; readonly message: string };

export type ParseFailure = Extract<ParseResult<never>, { ok: false }>;

export function parsed<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function badRequest(message: string): ParseFailure {
  return { ok: false, code: 'KZP_ERR_BAD_REQUEST', message };
}
