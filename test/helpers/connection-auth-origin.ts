import { createServer, type Socket } from 'node:net';

/** An origin that authenticates connections, not requests, as NTLM does; see startConnectionAuthOrigin. */
export interface ConnectionAuthOrigin {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Resolves once the origin's `id`th connection (the `conn=` of its answers) has closed. */
  closedConnection(id: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * NTLM's shape without its cryptography, on `host`: a request with `Authorization: NTLM T1...`
 * is challenged (401 `WWW-Authenticate: NTLM T2...`); `Authorization: NTLM T3<user>` on the same
 * connection then makes every later request on that connection `<user>`'s, whatever it carries.
 * An unauthenticated request is answered 401 `WWW-Authenticate: NTLM`; an authenticated one 200
 * with the body `conn=<n> user=<user>`.
 */
export async function startConnectionAuthOrigin(host: string): Promise<ConnectionAuthOrigin> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const closes = new Map<number, Promise<void>>();
  const server = createServer((socket) => {
    const id = ++accepted;
    sockets.add(socket);
    closes.set(id, new Promise((resolve) => socket.once('close', () => {
      sockets.delete(socket);
      resolve();
    })));
    socket.on('error', () => undefined);
    let user: string | null = null;
    let buffer = '';
    const answer = (status: string, headers: string, body: string): void => {
      socket.write(`HTTP/1.1 ${status}\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\r\n\r\n'); end !== -1; end = buffer.indexOf('\r\n\r\n')) {
        const head = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        const token = /^authorization:[ \t]*NTLM[ \t]+(\S+)/im.exec(head)?.[1] ?? '';
        if (user === null && token.startsWith('T1')) answer('401 Unauthorized', 'WWW-Authenticate: NTLM T2challenge\r\n', 'challenge');
        else if (user === null && token.startsWith('T3')) user = token.slice(2);
        if (token.startsWith('T1') && user === null) continue;
        if (user === null) answer('401 Unauthorized', 'WWW-Authenticate: NTLM\r\n', 'who are you');
        else answer('200 OK', '', `conn=${id} user=${user}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('origin has no port');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    closedConnection: (id) => closes.get(id) ?? Promise.reject(new Error(`no connection ${id}`)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
