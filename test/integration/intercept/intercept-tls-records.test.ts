import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientHelloBytes } from '../../helpers/client-hello-bytes.js';
import { listenClosable, type ClosableServer } from '../../helpers/closable-server.js';
import { startInterception, type Interception } from '../../helpers/interception.js';
import { receivedUntilClose } from '../../helpers/socket-end.js';
import { openTunnel } from './tunnel-client.js';

/** A ClientHello record with the version of its record header replaced: Go's crypto/tls takes any below 0x1000. */
function withRecordVersion(hello: Buffer, version: number): Buffer {
  const copy = Buffer.from(hello);
  copy.writeUInt16BE(version, 1);
  return copy;
}

/**
 * A lenient TLS server (Go's crypto/tls) reads more than a handshake record of version 3.x first:
 * it drops a warning alert before the ClientHello, and takes a first record of any version below
 * 0x1000. Such a first flight is TLS for the interception, whose TLS server (OpenSSL) refuses it:
 * never spliced to the destination for the client to speak TLS with it undecided.
 */
describe('interception: a first TLS record that is no handshake of version 3.x', () => {
  let interception: Interception;
  let destination: ClosableServer;
  let port: number;
  const dialled: Socket[] = [];

  beforeAll(async () => {
    interception = await startInterception();
    const server = createServer((socket) => {
      dialled.push(socket);
      socket.on('error', () => undefined);
      // Were the tunnel spliced here, its end would end the test's wait for the close.
      socket.end();
    });
    destination = await listenClosable(server);
    port = Number(new URL(destination.url).port);
  });

  afterAll(async () => {
    await destination.close();
    await interception.close();
  });

  it.each([
    ['a warning alert before the ClientHello', 'alert', (hello: Buffer) => Buffer.concat([Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x01, 0x64]), hello])],
    ['a ClientHello record of version 0x0000', 'version0', (hello: Buffer) => withRecordVersion(hello, 0x0000)],
    ['a change_cipher_spec before the ClientHello', 'ccs', (hello: Buffer) => Buffer.concat([Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]), hello])],
  ])('%s is TLS for the interception, and the destination is never dialled', async (_what, name, flight) => {
    const host = `${name}.stripe.com`;
    const target = `${host}:${String(port)}`;
    const client = await openTunnel(interception.proxy.port, target);
    const answered = receivedUntilClose(client);
    client.write(flight(await clientHelloBytes(host)));
    // The interception's TLS server refuses each (an alert, or the bare close for a version it cannot read).
    const answer = await answered;
    expect(answer.length === 0 || answer.subarray(0, 2).equals(Buffer.from([0x15, 0x03]))).toBe(true);
    const closed = await interception.proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'connect' && line['target'] === target);
    expect(closed).toMatchObject({ status: 200, code: 'KZP_ERR_INTERCEPT_TLS' });
    expect(closed['intercept_skipped']).toBeUndefined();
    expect(dialled).toEqual([]);
  });
});
