import { parseArgs } from 'node:util';
import { DEFAULT_CA_DAYS, DEFAULT_CA_NAME, MAX_CA_DAYS, MAX_CA_NAME } from '../intercept/ca-create.js';

/** `kaizen-proxy ca init [--dir DIR] [--name NAME] [--days N] [--force]` and `kaizen-proxy ca show [--dir DIR]`. */
export type CaCommand =
  | { readonly name: 'ca'; readonly action: 'init'; readonly dir: string | null; readonly config: string | null; readonly caName: string; readonly days: number; readonly force: boolean }
  | { readonly name: 'ca'; readonly action: 'show'; readonly dir: string | null; readonly config: string | null };

const OPTIONS = {
  dir: { type: 'string' },
  config: { type: 'string', short: 'c' },
  name: { type: 'string' },
  days: { type: 'string' },
  force: { type: 'boolean' },
} as const;

const USAGE = 'usage: kaizen-proxy ca init [--dir DIR] [--name NAME] [--days N] [--force] | kaizen-proxy ca show [--dir DIR]';

/** argv after `ca` → the command, or the usage message to refuse it with. Without --dir, the configuration's intercept.ca_dir. */
export function caCommand(args: readonly string[]): CaCommand | string {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const { values, positionals } = parsed;
  const [action, ...extra] = positionals;
  if ((action !== 'init' && action !== 'show') || extra.length > 0) return USAGE;
  const dir = values.dir ?? null;
  const config = values.config ?? null;
  if (action === 'show') {
    const misplaced = (['name', 'days', 'force'] as const).find((key) => values[key] !== undefined);
    return misplaced === undefined ? { name: 'ca', action, dir, config } : `--${misplaced} applies to kaizen-proxy ca init only`;
  }
  const caName = values.name ?? DEFAULT_CA_NAME;
  if (caName.trim() === '' || caName.length > MAX_CA_NAME) return `--name expects 1 to ${MAX_CA_NAME} characters`;
  const days = values.days === undefined ? DEFAULT_CA_DAYS : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > MAX_CA_DAYS) return `--days expects a whole number of days from 1 to ${MAX_CA_DAYS}`;
  return { name: 'ca', action, dir, config, caName, days, force: values.force === true };
}
