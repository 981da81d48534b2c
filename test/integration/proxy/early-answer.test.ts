import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenClosable, type ClosableServer } from '../../helpers/closable-server.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// A destination that answers an upload before reading it (an auth check, a size limit): the
// proxy stops reading the client's body while the destination's socket is full, and once the
// answer is complete the rest of the body must still be read and discarded (upstream-dispatch.ts),
// or a client that sends its whole body before reading (python's http.client, requests) never
// gets to the answer and the connection stays open for good.

const run = promisify(execFile);

/** Far past what the sockets between client, proxy and destination buffer. */
const TWENTY_MB = 20_000_000;

/**
 * http.client through the proxy: the whole body is sent before the answer is read. Prints the
 * answer, how long it took, and whether the proxy then ended the connection (`eof`).
 */
const HTTP_CLIENT = `import json, sys, time, http.client, socket
conn = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)
t0 = time.monotonic()
try:
    conn.request('POST', sys.argv[2], body=b'x' * int(sys.argv[3]))
    res = conn.getresponse()
    body = res.read().decode()
    seconds = time.monotonic() - t0
    try:
        eof = conn.sock is None or conn.sock.recv(1) == b''
    except socket.timeout:
        eof = False
    print(json.dumps({'status': res.status, 'body': body, 'connection': res.getheader('Connection'), 'seconds': seconds, 'eof': eof}))
except Exception as e:
    print(json.dumps({'exception': type(e).__name__ + ': ' + str(e), 'seconds': time.monotonic() - t0}))
`;

async function python(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('python3', ['-c', HTTP_CLIENT, ...args]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

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
    const result = await python([String(proxy.port), `${origin.url}/401`, String(TWENTY_MB)]);
    expect(result).toMatchObject({ status: 401, body: 'unauthorized\n', connection: 'close', eof: true });
    expect(result['seconds']).toBeLessThan(5);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['status'] === 401);
    expect(closed['code']).toBeUndefined();
  }, 20_000);

  it('lets python http.client read a 413 whose head went out before it was complete, then ends the connection', async () => {
    const result = await python([String(proxy.port), `${origin.url}/413`, String(TWENTY_MB)]);
    expect(result).toMatchObject({ status: 413, body: 'too big!\n', connection: 'close', eof: true });
    expect(result['seconds']).toBeLessThan(5);
    await proxy.logs.waitFor((line) => line.msg === 'closed' && line['status'] === 413);
  }, 20_000);
});
