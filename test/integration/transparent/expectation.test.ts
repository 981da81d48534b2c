import { afterEach, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startTransparent, type DirectTransparent } from './direct-listener.js';

// An Expect other than 100-continue is answered 417 by the proxy's own handler, with a closed
// line, as on the proxy port and inside intercepted sessions; node:http's bare 417 went unlogged.

describe('a redirected request with an Expect other than 100-continue', () => {
  let transparent: DirectTransparent | undefined;
  let origin: Origin | undefined;
  afterEach(async () => {
    await Promise.all([transparent?.close(), origin?.close()]);
    transparent = undefined;
    origin = undefined;
  });

  it('is answered 417 KZP_ERR_EXPECTATION with its closed line, never forwarded', async () => {
    origin = await startOrigin();
    transparent = await startTransparent();
    const authority = `127.0.0.1:${String(origin.port)}`;
    const client = await RawClient.open(transparent.port);
    client.write(`GET /x HTTP/1.1\r\nHost: ${authority}\r\nExpect: foo\r\n\r\n`);
    const response = await client.readResponse();
    expect(response.status).toBe(417);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_EXPECTATION');
    const closed = await transparent.proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'http');
    expect(closed).toMatchObject({ status: 417, code: 'KZP_ERR_EXPECTATION', target: authority });
    expect(origin.requests).toEqual([]);
    client.destroy();
  });
});
