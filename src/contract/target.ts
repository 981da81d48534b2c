/** A canonical destination: produced once by src/action/target-parse.ts, trusted everywhere after. */
export type HostType = 'dns' | 'ipv4' | 'ipv6';

export interface Target {
  /** Lower-case, no trailing dot, punycode for IDN; IP literals in canonical text form, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  readonly hostType: HostType;
  /** "host:port" with IPv6 bracketed: the action's `target` field. */
  readonly authority: string;
}
