import { parseArgs } from 'node:util';
import type { FlagOverrides } from '../config/types.js';
import type { Collapse } from '../learn/manifest-of.js';
import { caCommand, type CaCommand } from './ca-args.js';
import { checkCommand, isCheckCommand, type CheckCommand } from './check-args.js';
import { MANIFEST_ONLY, manifestCommand, parseCollapse, type ManifestCommand } from './manifest-args.js';

/** Wrap mode's own flags (`kaizen-proxy [options] -- COMMAND [ARGS...]`). */
export interface WrapFlags {
  readonly summary: boolean;
  readonly summaryJson: string | null;
  readonly logFile: string | null;
  /** --learn: the manifest of what the command did goes to this file at exit (monitor mode); null without --learn. */
  readonly manifestOut: string | null;
  readonly collapse: Collapse;
  /** --pass-api-key: the command keeps KAIZEN_API_KEY (an agent using the Kaizen SDK itself); withheld otherwise. */
  readonly passApiKey: boolean;
}

/** Where `--learn` writes the manifest when --manifest-out does not say. */
export const DEFAULT_MANIFEST_OUT = 'kaizen-manifest.json';

export type Command =
  | { readonly name: 'serve'; readonly flags: FlagOverrides }
  | { readonly name: 'wrap'; readonly flags: FlagOverrides; readonly wrap: WrapFlags; readonly argv: readonly [string, ...string[]] }
  | CheckCommand
  | CaCommand
  | ManifestCommand
  | { readonly name: 'help' }
  | { readonly name: 'version' };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const OPTIONS = {
  listen: { type: 'string' },
  config: { type: 'string', short: 'c' },
  agent: { type: 'string' },
  fail: { type: 'string' },
  mode: { type: 'string' },
  method: { type: 'string' },
  'allow-private': { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  admin: { type: 'string' },
  transparent: { type: 'string' },
  'unsafe-open-proxy': { type: 'boolean' },
  summary: { type: 'boolean' },
  'summary-json': { type: 'string' },
  'log-file': { type: 'string' },
  learn: { type: 'boolean' },
  'manifest-out': { type: 'string' },
  collapse: { type: 'string' },
  'pass-api-key': { type: 'boolean' },
  push: { type: 'boolean' },
  policy: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

const WRAP_ONLY = ['summary', 'summary-json', 'log-file', 'learn', 'manifest-out', 'pass-api-key'] as const;

/**
 * argv (without node and script) → a command; unknown flags are usage errors, never ignored.
 * Everything after the first `--` is the wrapped command, taken verbatim (never re-split).
 */
export function parseCommand(argv: readonly string[]): Command {
  const dashes = argv.indexOf('--');
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const wrapped = dashes < 0 ? null : argv.slice(dashes + 1);
  const [first, ...rest] = own;
  if (first === 'ca') {
    const ca = wrapped === null ? caCommand(rest) : "'ca' takes no command after --";
    if (typeof ca === 'string') throw new UsageError(ca);
    return ca;
  }
  if (first === 'serve' && wrapped !== null) throw new UsageError("'serve' takes no command; use 'kaizen-proxy [options] -- COMMAND' to wrap one");
  const checking = isCheckCommand(first);
  const manifesting = first === 'manifest';
  if ((checking || manifesting) && wrapped !== null) throw new UsageError(`'${first}' takes no command after --`);
  const args = first === 'serve' || checking || manifesting ? rest : [...own];
  if (first !== undefined && first !== 'serve' && !checking && !manifesting && !first.startsWith('-')) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: checking || manifesting });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help === true) return { name: 'help' };
  if (values.version === true) return { name: 'version' };
  const flags: { -readonly [K in keyof FlagOverrides]: FlagOverrides[K] } = {};
  if (values.listen !== undefined) flags.listen = values.listen;
  if (values.config !== undefined) flags.config = values.config;
  if (values.agent !== undefined) flags.agent = values.agent;
  if (values.fail !== undefined) flags.fail = values.fail;
  if (values.mode !== undefined) flags.mode = values.mode;
  if (values['allow-private'] !== undefined) flags.allowPrivate = values['allow-private'];
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level'];
  if (values.admin !== undefined) flags.admin = values.admin;
  if (values.transparent !== undefined) flags.transparent = values.transparent;
  if (values['unsafe-open-proxy'] === true) flags.unsafeOpenProxy = true;
  // Before any command's own parsing: serve, check and manifest would otherwise drop them unread.
  if (wrapped === null) {
    const misplaced = WRAP_ONLY.find((name) => values[name] !== undefined);
    if (misplaced !== undefined) throw new UsageError(`--${misplaced} applies to wrap mode only: kaizen-proxy [options] -- COMMAND [ARGS...]`);
  }
  if (values.method !== undefined && !checking) throw new UsageError('--method applies to kaizen-proxy check only');
  if (checking) {
    const manifestOnly = MANIFEST_ONLY.find((name) => values[name] !== undefined);
    if (manifestOnly !== undefined) throw new UsageError(`--${manifestOnly} applies to kaizen-proxy manifest only`);
    if (values.collapse !== undefined) throw new UsageError('--collapse applies to kaizen-proxy manifest and to wrap mode with --learn');
    const checked = checkCommand(first, parsed.positionals, flags, values.method);
    if (typeof checked === 'string') throw new UsageError(checked);
    return checked;
  }
  if (manifesting) {
    const manifest = manifestCommand(flags, parsed.positionals, values);
    if (typeof manifest === 'string') throw new UsageError(manifest);
    return manifest;
  }
  const notHere = MANIFEST_ONLY.find((name) => values[name] !== undefined);
  if (notHere !== undefined) throw new UsageError(`--${notHere} applies to kaizen-proxy manifest only`);
  if (values.collapse !== undefined && values.learn !== true) throw new UsageError('--collapse applies to kaizen-proxy manifest and to wrap mode with --learn');
  if (wrapped === null) return { name: 'serve', flags };
  const [command, ...commandArgs] = wrapped;
  if (command === undefined || command === '') throw new UsageError('expected a command after --');
  const learn = values.learn === true;
  if (!learn && values['manifest-out'] !== undefined) throw new UsageError('--manifest-out applies with --learn only');
  if (learn && flags.mode !== undefined && flags.mode !== 'monitor') throw new UsageError('--learn runs in monitor mode: drop --mode');
  const collapse = parseCollapse(values.collapse);
  if (typeof collapse !== 'string') throw new UsageError(collapse.error);
  return {
    name: 'wrap',
    flags: learn ? { ...flags, mode: 'monitor' } : flags,
    wrap: {
      summary: values.summary === true,
      summaryJson: values['summary-json'] ?? null,
      logFile: values['log-file'] ?? null,
      manifestOut: learn ? (values['manifest-out'] ?? DEFAULT_MANIFEST_OUT) : null,
      collapse,
      passApiKey: values['pass-api-key'] === true,
    },
    argv: [command, ...commandArgs],
  };
}
