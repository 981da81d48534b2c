import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { clientHelloBytes } from '../../helpers/client-hello-bytes.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { tempDir, writeFile } from './cli-process.js';

/**
 * The SNI check of a CONNECT tunnel reads a ClientHello that comes behind TLS warning alerts. Go's
 * crypto/tls server drops such an alert before the ClientHello (up to 16 of them) and negotiates
 * from the ClientHello after it; the check took any first record but a handshake for "not TLS", so
 * one 7-byte alert ahead of a ClientHello naming another host (domain fronting, or a host the
 * proxy intercepts) carried it to the destination unchecked.
 */

/** A warning-level `user_canceled` alert record (TLS 1.0 record version), what Go drops and reads on. */
const WARNING_ALERT = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x01, 0x5a]);
/** The proxy's refusal: a fatal access_denied alert, then a close. */
const ACCESS_DENIED = [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x31];

let recorder: Server;
/** Every byte each connection to the recorder sent it, in accept order. */
const received: Buffer[][] = [];
let proxy: KaizenProxy | undefined;
let logs: CapturedLogs;

async function start(): Promise<number> {
  const file = writeFile(tempDir(), 'kaizen-proxy.yaml', ['admin: off', 'network: { allow_private: [127.0.0.0/8, "::1"] }'].join('\n'));
  const loaded = loadConfig({ env: {}, flags: { config: file, listen: '127.0.0.1:0' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  logs = new CapturedLogs();
  proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: logs }) });
  return proxy.address.port;
}

/** A raw socket through `CONNECT authority`, after the proxy's 200. */
async function tunnel(proxyPort: number, authority: string): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port: proxyPort });
  socket.on('error', () => undefined);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const head = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve(text);
    };
    socket.on('data', onData);
  });
  expect(head).toMatch(/^HTTP\/1\.1 200/);
  return socket;
}

/** What the client reads until the proxy closes its tunnel. */
function readToClose(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => socket.once('close', () => { resolve(Buffer.concat(chunks)); }));
}

beforeAll(async () => {
  recorder = createServer((socket) => {
    const bytes: Buffer[] = [];
    received.push(bytes);
    socket.on('data', (chunk: Buffer) => bytes.push(chunk));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => recorder.close(resolve));
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe('SNI check behind TLS warning alerts', () => {
  it('refuses a fronted ClientHello that follows a warning alert, before any byte reaches the destination', async () => {
    const port = await start();
    const target = `localhost:${(recorder.address() as AddressInfo).port}`;
    const accepted = received.length;
    const socket = await tunnel(port, target);
    const answer = readToClose(socket);
    socket.write(Buffer.concat([WARNING_ALERT, await clientHelloBytes('other.example')]));
    // The access_denied alert (level 2, description 49) and a close, as for a fronted ClientHello alone.
    expect([...(await answer)]).toEqual(ACCESS_DENIED);
    const decision = await logs.waitFor((line) => line.msg === 'decision' && line['reason'] === 'sni_mismatch');
    expect(decision).toMatchObject({ kind: 'connect', decision: 'block', target: `other.example:${(recorder.address() as AddressInfo).port}` });
    expect(await logs.waitFor((line) => line.msg === 'closed' && line['target'] === target)).toMatchObject({ code: 'KZP_ERR_SNI_MISMATCH', bytes_up: 0 });
    const bytes = received.slice(accepted).flat();
    expect(Buffer.concat(bytes).length).toBe(0);
  });

  it('reads the SNI across alerts between the records of a ClientHello', async () => {
    const port = await start();
    const target = `localhost:${(recorder.address() as AddressInfo).port}`;
    const accepted = received.length;
    const hello = await clientHelloBytes('other.example');
    // The one handshake record cut in two records, the server_name extension in the second, an alert between.
    const body = hello.subarray(5);
    const cut = 60;
    const record = (part: Buffer): Buffer => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part]);
    const socket = await tunnel(port, target);
    const answer = readToClose(socket);
    socket.write(Buffer.concat([record(body.subarray(0, cut)), WARNING_ALERT, record(body.subarray(cut))]));
    expect([...(await answer)]).toEqual(ACCESS_DENIED);
    expect(await logs.waitFor((line) => line.msg === 'closed' && line['target'] === target)).toMatchObject({ code: 'KZP_ERR_SNI_MISMATCH', bytes_up: 0 });
    expect(Buffer.concat(received.slice(accepted).flat()).length).toBe(0);
  });

  it('forwards a matching ClientHello behind a warning alert as sent', async () => {
    const port = await start();
    const target = `localhost:${(recorder.address() as AddressInfo).port}`;
    const accepted = received.length;
    const flight = Buffer.concat([WARNING_ALERT, await clientHelloBytes('localhost')]);
    const socket = await tunnel(port, target);
    socket.write(flight);
    await expect.poll(() => Buffer.concat(received.slice(accepted).flat()).length).toBe(flight.length);
    expect(Buffer.concat(received.slice(accepted).flat()).equals(flight)).toBe(true);
    socket.destroy();
  });

  it('refuses a tunnel whose first record is an alert no TLS server reads on from (fatal, close_notify)', async () => {
    const port = await start();
    const target = `localhost:${(recorder.address() as AddressInfo).port}`;
    for (const alert of [[0x02, 0x28], [0x01, 0x00]]) {
      const accepted = received.length;
      const socket = await tunnel(port, target);
      const answer = readToClose(socket);
      socket.write(Buffer.concat([Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, ...alert]), await clientHelloBytes('other.example')]));
      await answer;
      expect(Buffer.concat(received.slice(accepted).flat()).length).toBe(0);
    }
    const codes = (): unknown[] => logs.lines.filter((line) => line.msg === 'closed' && line['target'] === target).map((line) => line['code']);
    await expect.poll(codes).toEqual(['KZP_ERR_BAD_REQUEST', 'KZP_ERR_BAD_REQUEST']);
  });
});
