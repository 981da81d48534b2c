import { parseArgs } from 'node:util';
import type { FlagOverrides } from '../config/types.js';

export type Command =
  | { readonly name: 'serve'; readonly flags: FlagOverrides }
  | { readonly name: 'help' }
  | { readonly name: 'version' };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const SERVE_OPTIONS = {
  listen: { type: 'string' },
  config: { type: 'string', short: 'c' },
  agent: { type: 'string' },
  fail: { type: 'string' },
  'allow-private': { type: 'string', multiple: true },
  'log-level': { type: 'string' },
  admin: { type: 'string' },
  transparent: { type: 'string' },
  'unsafe-open-proxy': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** argv (without node and script) → a command; unknown flags are usage errors, never ignored. */
export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  const args = first === 'serve' ? rest : [...argv];
  if (first !== undefined && first !== 'serve' && !first.startsWith('-')) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: SERVE_OPTIONS, strict: true, allowPositionals: false });
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
  if (values['allow-private'] !== undefined) flags.allowPrivate = values['allow-private'];
  if (values['log-level'] !== undefined) flags.logLevel = values['log-level'];
  if (values.admin !== undefined) flags.admin = values.admin;
  if (values.transparent !== undefined) flags.transparent = values.transparent;
  if (values['unsafe-open-proxy'] === true) flags.unsafeOpenProxy = true;
  return { name: 'serve', flags };
}
