/**
 * Whether the operator already set a V8 flag (either way: `--flag=N`, `--flag`, `--no-flag`), in
 * node's arguments or NODE_OPTIONS: then the proxy leaves it as chosen.
 */
export function operatorChose(flag: string, execArgv: readonly string[], nodeOptions: string): boolean {
  return execArgv.some((arg) => arg.includes(flag)) || nodeOptions.includes(flag);
}

/** The V8 major version from `process.versions.v8` (NaN when unreadable). */
export function v8Major(v8Version: string): number {
  return Number.parseInt(v8Version, 10);
}
