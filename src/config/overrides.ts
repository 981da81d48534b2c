import { formatHostPort, parseHostPort } from './host-port.js';
import type { FlagOverrides } from './types.js';

/** Returned by an override's `value` to leave the lower layers' value as it is, and not be named for it. */
export const KEEP: unique symbol = Symbol('keep');

/** One value from the environment or a flag, placed at a file key, with where it came from. */
export interface Override {
  readonly path: readonly string[];
  /** The raw value to place, computed from what the lower layers put there, or KEEP. */
  readonly value: (current: unknown) => unknown;
  readonly where: string;
}

/** Environment variables we honour, in the names Kaizen's first collector made familiar. */
export function envOverrides(env: NodeJS.ProcessEnv): Override[] {
  const out: Override[] = [];
  const take = (name: string, path: readonly string[]): void => {
    const text = env[name];
    if (text !== undefined && text !== '') out.push({ path, value: () => text, where: `env ${name}` });
  };
  take('KAIZEN_API_URL', ['control_plane', 'url']);
  take('KAIZEN_AGENT', ['agent']);
  take('KAIZEN_PROXY_FAIL', ['fail']);
  take('KAIZEN_PROXY_MODE', ['mode']);
  take('LOG_LEVEL', ['log', 'level']);
  take('KAIZEN_PROXY_DATA_DIR', ['data_dir']);
  const listen = env['KAIZEN_PROXY_LISTEN'];
  const port = env['PORT'];
  if (listen !== undefined && listen !== '') {
    take('KAIZEN_PROXY_LISTEN', ['listen']);
  } else if (port !== undefined && port !== '') {
    // PORT changes the port only, as Kaizen's first collector took it; the host stays loopback.
    out.push({ path: ['listen'], value: (current) => withPort(current, port), where: 'env PORT' });
  }
  return out;
}

export function flagOverrides(flags: FlagOverrides): Override[] {
  const out: Override[] = [];
  const take = (value: unknown, path: readonly string[], flag: string): void => {
    if (value !== undefined) out.push({ path, value: () => value, where: `flag --${flag}` });
  };
  take(flags.listen, ['listen'], 'listen');
  take(flags.agent, ['agent'], 'agent');
  take(flags.fail, ['fail'], 'fail');
  take(flags.mode, ['mode'], 'mode');
  take(flags.logLevel, ['log', 'level'], 'log-level');
  take(flags.admin, ['admin'], 'admin');
  take(flags.transparent, ['transparent'], 'transparent');
  take(flags.unsafeOpenProxy, ['unsafe_open_proxy'], 'unsafe-open-proxy');
  if (flags.gateway === 'off') out.push({ path: ['gateway', 'credentials_file'], value: () => null, where: 'wrap mode' });
  if (flags.allowPrivate !== undefined && flags.allowPrivate.length > 0) {
    take([...flags.allowPrivate], ['network', 'allow_private'], 'allow-private');
  }
  return out;
}

/**
 * The file's host with PORT's port. A file `listen` that is not HOST:PORT is kept as it is, to fail
 * validation at its own line: replacing it would hide the mistake until PORT is unset.
 */
function withPort(current: unknown, port: string): string | typeof KEEP {
  if (current === undefined) return `127.0.0.1:${port}`;
  const base = typeof current === 'string' ? parseHostPort(current) : undefined;
  if (base === undefined) return KEEP;
  const host = base.host;
  return `${formatHostPort({ host, port: 0 }).replace(/:0$/, '')}:${port}`;
}
