/**
 * Whether the Node that runs the tests (and the wrapped `node` children, the same binary on PATH)
 * routes fetch through HTTP_PROXY by itself under NODE_USE_ENV_PROXY=1: Node 22.21+ and 24+ do
 * (clients.md), and then the preload steps aside and undici sends http:// URLs as CONNECT host:80.
 */
export function nodeRoutesFetchItself(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 24 || (major === 22 && minor >= 21);
}

/** What the proxy records for one `fetch('http://host:port/...')` from a wrapped Node child. */
export function fetchActionKind(): 'http' | 'connect' {
  return nodeRoutesFetchItself() ? 'connect' : 'http';
}

/**
 * Whether wrapped Node children route http/https through the preload's global-agent: Node 22.21+
 * and 24.5+ do it themselves under NODE_USE_ENV_PROXY=1, and the preload then leaves http alone.
 */
export function preloadRoutesHttp(version = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return !(major >= 25 || (major === 24 && minor >= 5) || (major === 22 && minor >= 21));
}
