import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

/**
 * The first flight Node's TLS client sends for `servername` (its ClientHello record), captured on a
 * stream that goes nowhere: real bytes for tests that send them altered, or after other records.
 */
export function clientHelloBytes(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const wire = new Duplex({
      read() {
        // The server never answers.
      },
      write(chunk: Buffer, _encoding, callback) {
        resolve(chunk);
        callback();
        // Nothing more to send: the client goes once the bytes are out.
        setImmediate(() => wire.destroy());
      },
    });
    tlsConnect({ socket: wire, servername, ALPNProtocols: ['http/1.1'] }).on('error', () => undefined);
  });
}
