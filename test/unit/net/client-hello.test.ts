import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { looksLikeTls, mayPrecedeClientHello, parseClientHello, startsSsl2ClientHello } from '../../../src/net/client-hello.js';
import { sslv2ClientHello } from '../../helpers/sslv2-hello.js';

/** The first flight a real Node TLS client sends (its ClientHello), captured on a plain TCP server. */
async function captureHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const seen = new Promise<Buffer>((resolve) => {
    server.once('connection', (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (parseClientHello(Buffer.concat(chunks)).complete) {
          resolve(Buffer.concat(chunks));
          socket.destroy();
        }
      });
    });
  });
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ...(servername === undefined ? {} : { servername }) });
  client.on('error', () => undefined);
  const hello = await seen;
  client.destroy();
  server.close();
  return hello;
}

/** Splits a single-record ClientHello into records of `size` handshake bytes each. */
function rechunk(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const records: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const part = body.subarray(at, at + size);
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    header.writeUInt16BE(part.length, 3);
    records.push(header, part);
  }
  return Buffer.concat(records);
}

describe('parseClientHello', () => {
  it('finds the SNI of a real ClientHello, and asks for more at every shorter prefix', async () => {
    const hello = await captureHello('api.example.com');
    expect(looksLikeTls(hello[0] ?? 0)).toBe(true);
    expect(parseClientHello(hello)).toEqual({ complete: true, ok: true, sni: 'api.example.com' });
    for (let cut = 0; cut < hello.length; cut++) {
      expect(parseClientHello(hello.subarray(0, cut)).complete).toBe(false);
    }
  });

  it('reads a ClientHello spread over several records (and trailing bytes after it)', async () => {
    const hello = await captureHello('split.example.org');
    const split = Buffer.concat([rechunk(hello, 7), Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01])]);
    expect(parseClientHello(split)).toEqual({ complete: true, ok: true, sni: 'split.example.org' });
  });

  it('reads a ClientHello behind warning alerts, before and between its records, as a Go server does', async () => {
    const hello = await captureHello('fronted.example.org');
    const warning = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x01, 0x5a]);
    expect(mayPrecedeClientHello(warning[0] ?? 0)).toBe(true);
    expect(parseClientHello(Buffer.concat([warning, warning, hello]))).toEqual({ complete: true, ok: true, sni: 'fronted.example.org' });
    const records = rechunk(hello, 40);
    const between = Buffer.concat([records.subarray(0, 45), warning, records.subarray(45)]);
    expect(parseClientHello(between)).toEqual({ complete: true, ok: true, sni: 'fronted.example.org' });
    expect(parseClientHello(warning).complete).toBe(false);
    expect(parseClientHello(Buffer.concat([warning, hello.subarray(0, 3)])).complete).toBe(false);
  });

  it('reports no SNI when the client sent none (HTTPS to a bare IP)', async () => {
    const hello = await captureHello(undefined);
    expect(parseClientHello(hello)).toEqual({ complete: true, ok: true, sni: undefined });
  });

  it.each([
    ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n')],
    ['an SSH banner', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')],
    ['a fatal TLS alert record', Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28])],
    ['a close_notify alert record', Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x01, 0x00])],
    ['a warning alert of another record version', Buffer.from([0x15, 0x00, 0x01, 0x00, 0x02, 0x01, 0x5a])],
    ['a handshake that is not a ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00])],
    ['an absurd record version', Buffer.from([0x16, 0x09, 0x09, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00])],
  ])('refuses %s', (_name, bytes) => {
    expect(parseClientHello(bytes)).toMatchObject({ complete: true, ok: false });
  });

  it('refuses a ClientHello that announces more than 64 KiB', () => {
    expect(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x02, 0x00, 0x00]))).toEqual({
      complete: true,
      ok: false,
      reason: 'ClientHello too large',
    });
  });

  it('never throws on truncated or corrupted hellos', async () => {
    const hello = await captureHello('fuzz.example.net');
    for (let i = 5; i < hello.length; i += 3) {
      const corrupted = Buffer.from(hello);
      corrupted[i] = (corrupted[i] ?? 0) ^ 0xff;
      expect(() => parseClientHello(corrupted)).not.toThrow();
    }
  });
});

describe('startsSsl2ClientHello', () => {
  it('recognises a ClientHello in SSL 2.0 record format from its first three bytes', () => {
    const hello = sslv2ClientHello();
    expect(startsSsl2ClientHello(hello.subarray(0, 0))).toBeNull();
    expect(startsSsl2ClientHello(hello.subarray(0, 2))).toBeNull();
    expect(startsSsl2ClientHello(hello.subarray(0, 3))).toBe(true);
    expect(startsSsl2ClientHello(hello)).toBe(true);
  });

  it('takes no TLS record, text or SSL 2.0 message other than CLIENT-HELLO for one', async () => {
    expect(startsSsl2ClientHello(await captureHello('api.example.com'))).toBe(false);
    expect(startsSsl2ClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(false);
    expect(startsSsl2ClientHello(Buffer.from([0x80, 0x2e, 0x04, 0x00, 0x02]))).toBe(false);
  });
});
