import type { Target } from '../contract/target.js';
import type { ActionExtra } from './build-action.js';
import { publisherOf } from './publisher.js';
import { matchToolRoute, type ToolRoute } from './tool-routes.js';

/**
 * The tool and publisher every egress action carries: a matching route (`tools:`, first match
 * wins) names the tool and may name the publisher; otherwise the publisher is derived from the
 * registrable domain, unless `publishers: false`. A route's own publisher is kept even then.
 */
export interface ActionLabels {
  /** For a tunnel (CONNECT, or an opaque redirected connection): the publisher only. */
  tunnel(target: Target): ActionExtra;
  /**
   * For one HTTP request (plain, intercepted or an upgrade): tool and publisher, or why the request
   * is refused instead (its path, or its method and overriding method, read as two different
   * routes: tool-routes.ts). `override`: the method-override the request carries (method-override.ts).
   */
  request(target: Target, method: string, path: string, override?: string): RequestLabels;
}

export type RequestLabels = { readonly ok: true; readonly extra: ActionExtra } | { readonly ok: false; readonly message: string };

export interface ActionLabelOptions {
  readonly routes: readonly ToolRoute[];
  readonly publishers: boolean;
}

const NONE: ActionExtra = Object.freeze({});
const UNLABELLED: RequestLabels = Object.freeze({ ok: true, extra: NONE });

/** No tool, no publisher: the transport's default when nothing is configured. */
export const NO_LABELS: ActionLabels = { tunnel: () => NONE, request: () => UNLABELLED };

export function createActionLabels(options: ActionLabelOptions): ActionLabels {
  const derived = (target: Target): ActionExtra => {
    if (!options.publishers) return NONE;
    const publisher = publisherOf(target);
    return publisher === undefined ? NONE : { publisher };
  };
  return {
    tunnel: derived,
    request(target, method, path, override) {
      const match = matchToolRoute(options.routes, target, method, path, override);
      if (!match.ok) {
        const [strict, served] = match.routes;
        if (match.by === 'method') {
          return { ok: false, message: `the request is tool ${JSON.stringify(strict.spec.tool)} as its request line's method and ${JSON.stringify(served.spec.tool)} as its overriding method, which origins that honour method-override execute` };
        }
        return { ok: false, message: `the path is tool ${JSON.stringify(strict.spec.tool)} read one way and ${JSON.stringify(served.spec.tool)} as origins that decode %2F, read \\ as /, drop ; parameters or take a leading // as a host serve it` };
      }
      const route = match.route;
      if (route === undefined) return { ok: true, extra: derived(target) };
      const publisher = route.spec.publisher ?? derived(target).publisher;
      return { ok: true, extra: publisher === undefined ? { tool: route.spec.tool } : { tool: route.spec.tool, publisher } };
    },
  };
}
