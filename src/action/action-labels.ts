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
   * is refused instead (its path reads as two different routes: tool-routes.ts).
   */
  request(target: Target, method: string, path: string): RequestLabels;
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
    request(target, method, path) {
      const match = matchToolRoute(options.routes, target, method, path);
      if (!match.ok) {
        const [strict, served] = match.routes;
        return { ok: false, message: `the path is tool ${JSON.stringify(strict.spec.tool)} read one way and ${JSON.stringify(served.spec.tool)} as origins that decode %2F, read \\ as /, drop ; parameters or take a leading // as a host serve it` };
      }
      const route = match.route;
      if (route === undefined) return { ok: true, extra: derived(target) };
      const publisher = route.spec.publisher ?? derived(target).publisher;
      return { ok: true, extra: publisher === undefined ? { tool: route.spec.tool } : { tool: route.spec.tool, publisher } };
    },
  };
}
