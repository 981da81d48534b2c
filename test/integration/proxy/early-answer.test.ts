import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenClosable, type ClosableServer } from '../../helpers/closable-server.js';
import { sendThenRead } from '../../helpers/send-then-read.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// A destination that answers an upload before reading it (an auth check, a size limit): the
// proxy stops reading the client's body while the destination's socket is full, and once the
// answer is complete the rest of the body must still be read and discarded (upstream-dispatch.ts),
// or a client that sends its whole body before reading (python's http.client, requests) never
// gets to the answer and the connection stays open for good.

/** Far past what the sockets between client, proxy and destination buffer. */
const TWENTY_MB = 20_000_000;


/** A node origin that never reads a request body: `/401` answers 300 ms later in one write, `/413` sends its head at once and ends 300 ms later. */
async function startEarlyOrigin(): Promise<ClosableServer> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/413') {
      res.writeHead(413, { 'Content-Type': 'text/plain', 'Content-Length': '9' });
      res.flushHeaders();
      setTimeout(() => res.end('too big!\n'), 300);
      return;
    }
    setTimeout(() => {
      res.writeHead(401, { 'Content-Type': 'text/plain' });
      res.end('unauthorized\n');
    }, 300);
  });
  return listenClosable(server);
}

describe('a destination that answers an upload before reading it', () => {
  let origin: ClosableServer;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await startEarlyOrigin();
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('lets python http.client read the 401 promptly, then ends the connection (the body read on and discarded)', async () => {
    const result = await sendThenRead(proxy.port, `${origin.url}/401`, TWENTY_MB);
    expect(result).toMatchObject({ status: 401, body: 'unauthorized\n', connection: 'close', eof: true });
    expect(result['seconds']).toBeLessThan(5);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['status'] === 401);
    expect(closed['code']).toBeUndefined();
  }, 20_000);

  it('lets python http.client read a 413 whose head went out before it was complete, then ends the connection', async () => {
    const result = await sendThenRead(proxy.port, `${origin.url}/413`, TWENTY_MB);
    expect(result).toMatchObject({ status: 413, body: 'too big!\n', connection: 'close', eof: true });
    expect(result['seconds']).toBeLessThan(5);
    await proxy.logs.waitFor((line) => line.msg === 'closed' && line['status'] === 413);
  }, 20_000);
});
