import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/** A CONNECT through the proxy, answered 200: the raw socket, ready for TLS or plain bytes. `headers`: extra header lines, each ending in CRLF. */
export function openTunnel(proxyPort: number, authority: string, headers = ''): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port: proxyPort, host: '127.0.0.1' });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${headers}\r\n`);
    });
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (head.startsWith('HTTP/1.1 200')) resolve(socket);
      else reject(new Error(`CONNECT answered ${head.split('\r\n')[0] ?? ''}`));
    };
    socket.on('data', onData);
  });
}

/** TLS inside a tunnel; rejects when the handshake or the certificate check fails. */
export async function tlsThrough(proxyPort: number, authority: string, options: { readonly ca?: string; readonly servername: string; readonly connectHeaders?: string }): Promise<TLSSocket> {
  const socket = await openTunnel(proxyPort, authority, options.connectHeaders);
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername: options.servername, ALPNProtocols: ['http/1.1'], ...(options.ca === undefined ? {} : { ca: options.ca }) });
    tls.once('secureConnect', () => {
      tls.off('error', reject);
      resolve(tls);
    });
    tls.once('error', (error: Error) => {
      // As an HTTPS client would: the connection goes with the failed TLS session.
      socket.destroy();
      reject(error);
    });
  });
}

/** Writes a request on a connected socket and reads until the response is complete (Content-Length) or the socket closes. */
export function exchange(socket: Socket, request: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => {
      socket.off('data', onData);
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      resolve({ status: Number(head.slice(9, 12)), head, body: end < 0 ? '' : text.slice(end + 4) });
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (length !== null && text.length - end - 4 >= Number(length[1])) done();
    };
    socket.on('data', onData);
    socket.once('close', done);
    socket.write(request);
  });
}
