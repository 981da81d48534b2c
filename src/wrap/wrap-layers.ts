import { grpcLayer, javaLayer, nodePreloadLayer, type ChildEnvLayer } from './child-env.js';
import { gitProxyLayer } from './git-proxy.js';
import { npmProxyLayer } from './npm-proxy.js';
import { pipProxyLayer } from './pip-proxy.js';

/**
 * The layers of a wrapped command's environment, in order, after the proxy variables buildChildEnv
 * sets itself: the Node preload (null: none, the preload is missing), Java, gRPC, npm, pip, git.
 * `--help` sums up what they set (help.ts); the README's wrap-mode table details it.
 */
export function wrapLayers(preload: string | null): ChildEnvLayer[] {
  return [...(preload === null ? [] : [nodePreloadLayer(preload)]), javaLayer, grpcLayer, npmProxyLayer, pipProxyLayer(), gitProxyLayer];
}
