/**
 * What every wrapped child must reach directly: the proxy itself and the machine's own services.
 * The IPv6 loopback twice: Python's urllib and undici match `[::1]` (the host as the URL writes
 * it), curl and others `::1`.
 */
export const LOOPBACK_NO_PROXY: readonly string[] = Object.freeze(['localhost', '127.0.0.1', '::1', '[::1]']);

export interface NoProxyList {
  /** Loopback first, then the user's own entries from NO_PROXY and no_proxy, each once. */
  readonly entries: readonly string[];
  /** User entries that were dropped because they would switch the proxy off for every host. */
  readonly dropped: readonly string[];
}

/**
 * Merge the loopback entries with the user's NO_PROXY and no_proxy (in that order, duplicates
 * removed case-insensitively). A bare `*` is dropped: curl, Python and undici read it as "never
 * proxy", which would silently take the child out of the proxy's view.
 */
export function mergeNoProxy(env: NodeJS.ProcessEnv): NoProxyList {
  const seen = new Set<string>();
  const entries: string[] = [];
  const dropped: string[] = [];
  const add = (entry: string): void => {
    const key = entry.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    entries.push(entry);
  };
  for (const entry of LOOPBACK_NO_PROXY) add(entry);
  for (const name of ['NO_PROXY', 'no_proxy']) {
    for (const raw of (env[name] ?? '').split(/[,\s]+/)) {
      const entry = raw.trim();
      if (entry === '') continue;
      if (entry === '*') {
        if (!dropped.includes(entry)) dropped.push(entry);
        continue;
      }
      add(entry);
    }
  }
  return { entries, dropped };
}
