import { afterEach, describe, expect, it } from 'vitest';
import { createActionLabels } from '../../../src/action/action-labels.js';
import { parseToolRoute, type ToolRoute } from '../../../src/action/tool-routes.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { sendRaw } from '../../helpers/raw-client.js';
import { startTransparent, type DirectTransparent } from './direct-listener.js';

function route(match: string, tool: string): ToolRoute {
  const parsed = parseToolRoute({ match, tool });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.route;
}

// A redirected request's method-override is read as on the proxy port: the action is the
// overriding method's, and an ambiguous override is refused before any decision.
describe('method-override on the transparent listener', () => {
  let transparent: DirectTransparent | undefined;
  let origin: Origin | undefined;
  afterEach(async () => {
    await Promise.all([transparent?.close(), origin?.close()]);
    transparent = undefined;
    origin = undefined;
  });

  it('POST with X-HTTP-Method-Override: DELETE is decided as the DELETE route\'s tool; two overrides are 400', async () => {
    origin = await startOrigin();
    const decider = createFakeDecider();
    const labels = createActionLabels({ routes: [route('DELETE 127.0.0.1/v1/charges/*', 'void_charge')], publishers: false });
    transparent = await startTransparent({ decider, labels });
    const host = `127.0.0.1:${String(origin.port)}`;
    const allowed = await sendRaw(transparent.port, `POST /v1/charges/ch_1 HTTP/1.1\r\nHost: ${host}\r\nX-HTTP-Method-Override: DELETE\r\nContent-Length: 0\r\n\r\n`);
    expect(allowed.status).toBe(200);
    expect(decider.calls.map((call) => call.action)).toMatchObject([{ kind: 'tool_call', tool: 'void_charge', metadata: { method: 'DELETE', path: '/v1/charges/ch_1' } }]);
    const refused = await sendRaw(transparent.port, `POST /v1/charges/ch_2 HTTP/1.1\r\nHost: ${host}\r\nX-HTTP-Method: DELETE\r\nX-Method-Override: DELETE\r\nContent-Length: 0\r\n\r\n`);
    expect(refused.status).toBe(400);
    expect(refused.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
    expect(decider.calls).toHaveLength(1);
    expect(origin.requests.map((request) => request.url)).toEqual(['/v1/charges/ch_1']);
  });
});
