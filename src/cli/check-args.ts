import type { FlagOverrides } from '../config/types.js';

/** `kaizen-proxy check TARGET [--method M]` and `kaizen-proxy check-config FILE`. */
export type CheckCommand =
  | { readonly name: 'check'; readonly flags: FlagOverrides; readonly target: string; readonly method: string | null }
  | { readonly name: 'check-config'; readonly flags: FlagOverrides; readonly file: string };

export function isCheckCommand(name: string | undefined): name is CheckCommand['name'] {
  return name === 'check' || name === 'check-config';
}

/** The command, or the usage message to refuse it with. */
export function checkCommand(name: CheckCommand['name'], positionals: readonly string[], flags: FlagOverrides, method: string | undefined): CheckCommand | string {
  const [operand, ...extra] = positionals;
  if (name === 'check-config') {
    if (operand === undefined || operand === '' || extra.length > 0) return 'usage: kaizen-proxy check-config FILE';
    // FILE is the --config of this command: with both, one of them would be silently ignored.
    if (flags.config !== undefined) return 'check-config takes the file as FILE: drop --config (-c)';
    if (method !== undefined) return '--method applies to kaizen-proxy check only';
    return { name: 'check-config', flags: { ...flags, config: operand }, file: operand };
  }
  if (operand === undefined || extra.length > 0) return 'usage: kaizen-proxy check TARGET [--method METHOD] (TARGET: host:port or a URL)';
  if (method !== undefined && !/^[A-Za-z]{1,20}$/.test(method)) return '--method expects an HTTP method such as GET or POST';
  return { name: 'check', flags, target: operand, method: method?.toUpperCase() ?? null };
}
