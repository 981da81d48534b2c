import { formatIssues } from '../config/load.js';
import type { ConfigIssue, ConfigResult, ProxyConfig } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import type { GatewayIdentities } from './gateway-identities.js';
import type { LocalReflex } from './local-reflex.js';

export type ReloadOutcome =
  | { readonly ok: true; readonly applied: readonly string[]; readonly restartRequired: readonly string[] }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export interface Reloader {
  /** Applies a freshly loaded configuration; a failed load keeps everything as it is. Never throws. */
  reload(loaded: ConfigResult, trigger: string): ReloadOutcome;
}

/** Where the configuration came from, not a setting: a default file created since start changes it. */
const NOT_SETTINGS = new Set<keyof ProxyConfig>(['file']);

/** Settings a running proxy takes without a restart; every other change waits for one (and is logged as such). */
const RELOADABLE = new Set<keyof ProxyConfig>(['policies', 'mode', 'monitorGuard', 'log']);

/** The gateway's credentials reload while the gateway stays on; turning it on or off needs a restart. */
function reloadable(key: keyof ProxyConfig, next: ProxyConfig, gateway: GatewayIdentities | null): boolean {
  if (key === 'gateway') return gateway !== null && next.gateway.credentials.length > 0;
  return RELOADABLE.has(key);
}

/**
 * Hot reload (SIGHUP, or the file changed): the new configuration was validated by loadConfig
 * before it gets here, so a bad file changes nothing. The file's policies, the mode and the log
 * level apply at once, and in gateway mode the credentials file read again (`gateway`, null
 * without a gateway); open connections are never touched. Keys are compared as values with the
 * last configuration loaded, so reloading an unchanged file is a no-op: a setting that needs a
 * restart is warned about once, when it changes, and a reload with nothing new only names it at
 * info (`restart_pending`) for as long as it differs from what the proxy runs with.
 */
export function createReloader(initial: ProxyConfig, reflex: LocalReflex, logger: Logger, gateway: GatewayIdentities | null = null): Reloader {
  const log = logger.child({ component: 'reload' });
  let running = initial;
  // What the last accepted reload held, settings waiting for a restart included.
  let loadedLast = initial;

  return {
    reload(loaded, trigger) {
      if (!loaded.ok) {
        log.error({ trigger, code: loaded.code, issues: formatIssues(loaded.issues) }, 'configuration reload refused: keeping the running configuration');
        return { ok: false, issues: loaded.issues };
      }
      const next = loaded.config;
      const previous = loadedLast;
      loadedLast = next;
      const differs = (from: ProxyConfig) => (key: keyof ProxyConfig): boolean => !NOT_SETTINGS.has(key) && JSON.stringify(next[key]) !== JSON.stringify(from[key]);
      const keys = Object.keys(next) as (keyof ProxyConfig)[];
      const changed = keys.filter(differs(running));
      const applied = changed.filter((key) => reloadable(key, next, gateway));
      // Still waiting for a restart; warned about only when it differs from the last file loaded too.
      const pending = changed.filter((key) => !reloadable(key, next, gateway));
      const restartRequired = pending.filter(differs(previous));
      if (applied.includes('policies')) reflex.setFilePolicies(next.policies);
      if (applied.includes('mode') || applied.includes('monitorGuard')) reflex.setMode({ mode: next.mode, monitorGuard: next.monitorGuard });
      if (applied.includes('log')) logger.level = next.log.level;
      if (applied.includes('gateway')) gateway?.replace(next.gateway.credentials);
      running = { ...running, policies: next.policies, mode: next.mode, monitorGuard: next.monitorGuard, log: next.log, ...(applied.includes('gateway') ? { gateway: next.gateway } : {}) };

      const names = { applied: applied.map(fileKey), restart_required: restartRequired.map(fileKey) };
      // Every setting still waiting for a restart, when some were warned about by an earlier reload.
      const waiting = pending.length > restartRequired.length ? { restart_pending: pending.map(fileKey) } : {};
      if (restartRequired.length > 0) log.warn({ trigger, ...names, ...waiting }, 'configuration reloaded; some changed settings take effect only after a restart');
      else log.info({ trigger, ...names, ...waiting, policies: next.policies.length }, applied.length > 0 ? 'configuration reloaded' : 'configuration reloaded: no change');
      return { ok: true, applied: names.applied, restartRequired: names.restart_required };
    },
  };
}

/** The key as the YAML file spells it (monitorGuard → monitor_guard). */
function fileKey(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
