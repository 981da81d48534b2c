import { appendJavaProxyOptions } from './java-options.js';
import { mergeNoProxy } from './no-proxy.js';
import { appendRequire } from './node-options.js';

/** The child's environment while it is being built; layers add to it in order. */
export type MutableEnv = Record<string, string | undefined>;

/** What a layer knows about the running proxy. */
export interface ProxyEndpoint {
  /** The address the child dials: always a loopback IP literal, never a wildcard. */
  readonly host: string;
  readonly port: number;
}

/**
 * One contribution to the child's environment. Proxy variables, the Node preload, Java and gRPC
 * are layers; CA trust for interception (a later issue) is another, added after these.
 */
export interface ChildEnvLayer {
  readonly name: string;
  apply(env: MutableEnv, proxy: ProxyEndpoint): void;
}

export interface ChildEnvOptions {
  /**
   * Leave KAIZEN_API_KEY in the command's environment (--pass-api-key), for an agent that calls the
   * control plane itself through the Kaizen SDK. Off by default: see buildChildEnv.
   */
  readonly passApiKey?: boolean;
}

export interface ChildEnv {
  readonly env: NodeJS.ProcessEnv;
  /** Short notes for the operator (a NO_PROXY entry dropped, the preload missing...). */
  readonly warnings: readonly string[];
}

/** "http://127.0.0.1:PORT": always with the scheme (Node with NODE_USE_ENV_PROXY=1 crashes without). */
export function proxyUrl(proxy: ProxyEndpoint): string {
  const host = proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host;
  return `http://${host}:${proxy.port}`;
}

/**
 * The environment of the wrapped child: the parent's, plus every layer in order, less the wrapper's
 * control-plane key. That key is the monitoring system's credential: with it the monitored command
 * could rewrite any agent's manifest or post verdicts under any name, so it stays with the wrapper
 * unless `passApiKey`. The parent's proxy variables, which may carry an upstream proxy's password,
 * are replaced below; the key file's path (control_plane.api_key_file) is config, not environment.
 */
export function buildChildEnv(parent: NodeJS.ProcessEnv, proxy: ProxyEndpoint, layers: readonly ChildEnvLayer[], options: ChildEnvOptions = {}): ChildEnv {
  const env: MutableEnv = { ...parent };
  if (options.passApiKey !== true) delete env['KAIZEN_API_KEY'];
  const warnings: string[] = [];
  const { entries, dropped } = mergeNoProxy(parent);
  if (dropped.length > 0) {
    warnings.push(`NO_PROXY entry ${dropped.map((d) => JSON.stringify(d)).join(', ')} ignored: it would send every request around the proxy`);
  }
  const url = proxyUrl(proxy);
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']) {
    env[name] = url;
    env[name.toLowerCase()] = url;
  }
  const noProxy = entries.join(',');
  env['NO_PROXY'] = noProxy;
  env['no_proxy'] = noProxy;
  env['NODE_USE_ENV_PROXY'] = '1';
  for (const layer of layers) layer.apply(env, proxy);
  return { env, warnings };
}

/** Node without built-in env-proxy support: the bundled preload, appended to NODE_OPTIONS. */
export function nodePreloadLayer(preloadFile: string): ChildEnvLayer {
  return {
    name: 'node-preload',
    apply(env) {
      env['NODE_OPTIONS'] = appendRequire(env['NODE_OPTIONS'], preloadFile);
    },
  };
}

/** Java reads system properties only: appended to JAVA_TOOL_OPTIONS, which every JVM picks up. */
export const javaLayer: ChildEnvLayer = {
  name: 'java',
  apply(env, proxy) {
    const noProxy = (env['NO_PROXY'] ?? '').split(',').filter((e) => e !== '');
    env['JAVA_TOOL_OPTIONS'] = appendJavaProxyOptions(env['JAVA_TOOL_OPTIONS'], proxy.host, proxy.port, noProxy);
  },
};

/** gRPC (C core and grpc-js) reads GRPC_PROXY before the generic variables. */
export const grpcLayer: ChildEnvLayer = {
  name: 'grpc',
  apply(env, proxy) {
    env['GRPC_PROXY'] = proxyUrl(proxy);
  },
};
