import { afterEach, describe, expect, it } from 'vitest';
import type { ClosedEvent } from '../../../src/contract/observer.js';
import { clientHelloBytes } from '../../helpers/client-hello-bytes.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { RawClient } from '../../helpers/raw-client.js';
import { eventually } from '../resilience/resilience-support.js';
import { startTransparent, type DirectTransparent } from './direct-listener.js';

/**
 * A redirected TLS client that goes away while its SNI's action is being decided: nothing was
 * answered, so its closed line and closed event say status 0, as for a CONNECT or a request the
 * client abandoned (README, ClosedEvent), not a status of nginx's own (499) that nothing sent.
 */
describe('a redirected TLS connection abandoned before its decision', () => {
  let transparent: DirectTransparent | undefined;
  afterEach(async () => {
    await transparent?.close();
    transparent = undefined;
  });

  it('closes with status 0 on its closed line and event', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const decider = createFakeDecider({ hold: { targets: ['localhost'], until: held } });
    const closed: ClosedEvent[] = [];
    transparent = await startTransparent({ decider, observer: { closed: (event) => closed.push(event) } });
    const { proxy } = transparent;

    const client = await RawClient.open(transparent.port);
    client.socket.write(await clientHelloBytes('localhost'));
    await decider.waitForCall((request) => request.action.target === 'localhost:443');
    client.socket.resetAndDestroy();
    await eventually(() => proxy.server.activeConnections === 0, 5_000, 'the client connection gone at the proxy');
    release();

    const line = await proxy.logs.waitFor((logged) => logged.msg === 'closed' && logged['target'] === 'localhost:443');
    expect(line['status']).toBe(0);
    expect(line).not.toHaveProperty('code');
    expect(closed.map((event) => event.status)).toEqual([0]);
  });
});
