import { execFile } from 'node:child_process';
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { tempDir, writeFile } from './cli-process.js';

/**
 * The SNI check on CONNECT tunnels (no interception), through the whole proxy with real TLS
 * clients: a ClientHello naming another host than the CONNECT (domain fronting) is refused before
 * any byte reaches the destination; a matching one, one split across segments, and tunnels that do
 * not start with TLS go through.
 */
const run = promisify(execFile);
let ca: TestCa;
let origin: Origin;
let plain: Origin;
let talker: Server;
let proxy: KaizenProxy | undefined;
let logs: CapturedLogs;

async function start(sniMismatch: 'block' | 'allow'): Promise<number> {
  const file = writeFile(
    tempDir(),
    'kaizen-proxy.yaml',
    [
      'admin: off',
      'network: { allow_private: [127.0.0.0/8, "::1"] }',
      `tls: { sni_mismatch: ${sniMismatch} }`,
      'policies:',
      '  - name: no-paste',
      '    mode: blocklist',
      '    rules: { domains: [pastebin.com] }',
      '  - name: no-paste-publisher',
      '    mode: blocklist',
      '    rules: { publishers: [hastebin] }',
    ].join('\n'),
  );
  const loaded = loadConfig({ env: {}, flags: { config: file, listen: '127.0.0.1:0' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  logs = new CapturedLogs();
  proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: logs }) });
  return proxy.address.port;
}

/** A TCP socket through `CONNECT host:port`, after the proxy's 200; paused, with any bytes after the 200 kept for the caller. */
async function tunnel(proxyPort: number, authority: string): Promise<Socket> {
  const socket = netConnect({ host: '127.0.0.1', port: proxyPort });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let head = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      // Bytes after the 200 (a server that speaks first) stay for the next reader.
      if (end + 4 < head.length) socket.unshift(head.subarray(end + 4));
      if (!head.toString('latin1').startsWith('HTTP/1.1 200')) reject(new Error(head.toString('latin1')));
      else resolve();
    };
    socket.on('data', onData);
  });
  return socket;
}

/** TLS over the tunnel; resolves with the body of GET /, or rejects with the TLS error. */
function httpsGet(socket: Duplex, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tls: TLSSocket = tlsConnect({ socket, servername, ca: ca.caPem, rejectUnauthorized: false });
    let body = '';
    tls.on('error', reject);
    tls.on('secureConnect', () => {
      tls.write('GET /sni HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    tls.on('data', (chunk: Buffer) => (body += chunk.toString()));
    tls.on('end', () => {
      resolve(body);
    });
    tls.on('close', () => {
      if (body === '') reject(new Error('closed without an answer'));
    });
  });
}

/** The first flight of a real TLS client naming `servername`, captured by a server that never answers. */
async function captureClientHello(servername: string): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const hello = new Promise<Buffer>((resolve) => server.once('connection', (socket) => socket.once('data', resolve)));
  const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, rejectUnauthorized: false });
  client.on('error', () => undefined);
  const bytes = await hello;
  client.destroy();
  server.close();
  return bytes;
}

/** A duplex over `socket` whose first write is cut in two, 50 ms apart: a ClientHello split across segments. */
function splittingFirstWrite(socket: Socket): Duplex {
  let first = true;
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      if (!first) {
        socket.write(chunk, () => { done(); });
        return;
      }
      first = false;
      socket.write(chunk.subarray(0, 7));
      setTimeout(() => socket.write(chunk.subarray(7), () => { done(); }), 50);
    },
    read() {
      socket.resume();
    },
    final(done) {
      socket.end();
      done();
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.resume();
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  return duplex;
}

function closedLine(target: string) {
  return logs.waitFor((line) => line.msg === 'closed' && line['target'] === target);
}

beforeAll(async () => {
  ca = await createTestCa();
  [origin, plain] = await Promise.all([startOrigin({ tls: ca }), startOrigin()]);
  talker = createServer((socket) => {
    socket.write('SSH-2.0-kaizen-test\r\n');
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => talker.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await Promise.all([origin.close(), plain.close(), new Promise((resolve) => talker.close(resolve))]);
  await ca.remove();
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe('SNI check, tls.sni_mismatch: block (the default)', () => {
  it('allows a matching SNI (curl, CONNECT localhost with SNI localhost)', async () => {
    const port = await start('block');
    const { stdout } = await run('curl', ['-sS', '--noproxy', '', '-x', `http://127.0.0.1:${port}`, '--cacert', ca.caFile, `https://localhost:${origin.port}/match`]);
    expect(JSON.parse(stdout)).toMatchObject({ url: '/match' });
  });

  it('refuses domain fronting from Node (SNI "other.example" in a tunnel to localhost) before any byte reaches the origin', async () => {
    const port = await start('block');
    const before = origin.requests.length;
    const socket = await tunnel(port, `localhost:${origin.port}`);
    await expect(httpsGet(socket, 'other.example')).rejects.toThrow(/alert access denied|socket hang up|ECONNRESET|closed/);
    const decision = await logs.waitFor((line) => line.msg === 'decision' && line['target'] === `other.example:${origin.port}`);
    expect(decision).toMatchObject({ kind: 'connect', decision: 'block', reason: 'sni_mismatch', source: 'local' });
    expect(await closedLine(`localhost:${origin.port}`)).toMatchObject({ status: 200, code: 'KZP_ERR_SNI_MISMATCH', bytes_up: 0 });
    expect(origin.requests.length).toBe(before);
  });

  it('refuses domain fronting from openssl s_client -proxy -servername other', async () => {
    const port = await start('block');
    const result = await run('openssl', ['s_client', '-proxy', `127.0.0.1:${port}`, '-connect', `localhost:${origin.port}`, '-servername', 'other.example', '-CAfile', ca.caFile], { timeout: 10_000 }).then(
      () => 'connected',
      (error: unknown) => (error instanceof Error ? error.message : 'failed'),
    );
    expect(result).not.toBe('connected');
    await closedLine(`localhost:${origin.port}`);
    expect(logs.lines.some((line) => line.msg === 'decision' && line['reason'] === 'sni_mismatch')).toBe(true);
  });

  it('handles a ClientHello split across two segments: matching goes through, fronting is refused', async () => {
    const port = await start('block');
    const body = await httpsGet(splittingFirstWrite(await tunnel(port, `localhost:${origin.port}`)), 'localhost');
    expect(body).toMatch(/^HTTP\/1\.1 200/);

    const hello = await captureClientHello('pastebin.com');
    const raw = await tunnel(port, `localhost:${origin.port}`);
    const closed = new Promise<void>((resolve) => raw.once('close', () => { resolve(); }));
    raw.resume();
    raw.write(hello.subarray(0, 3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    raw.write(hello.subarray(3, 40));
    await new Promise((resolve) => setTimeout(resolve, 50));
    raw.write(hello.subarray(40));
    await closed;
    expect(await logs.waitFor((line) => line.msg === 'closed' && line['code'] !== undefined)).toMatchObject({ target: `localhost:${origin.port}`, code: 'KZP_ERR_SNI_MISMATCH' });
  });

  it('refuses a tunnel that starts like TLS but carries no readable ClientHello', async () => {
    const port = await start('block');
    const raw = await tunnel(port, `localhost:${origin.port}`);
    const closed = new Promise<void>((resolve) => raw.once('close', () => { resolve(); }));
    raw.resume();
    raw.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00]));
    await closed;
    expect(await closedLine(`localhost:${origin.port}`)).toMatchObject({ code: 'KZP_ERR_BAD_REQUEST' });
  });

  it('leaves tunnels that do not start with TLS alone: plain HTTP, and a server that speaks first', async () => {
    const port = await start('block');
    const http = await tunnel(port, `127.0.0.1:${plain.port}`);
    const answer = new Promise<string>((resolve) => http.once('data', (chunk: Buffer) => { resolve(chunk.toString()); }));
    http.resume();
    http.write('GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await answer).toMatch(/^HTTP\/1\.1 200/);
    http.destroy();

    const ssh = await tunnel(port, `127.0.0.1:${(talker.address() as AddressInfo).port}`);
    const greeting = await new Promise<string>((resolve) => {
      ssh.once('data', (chunk: Buffer) => { resolve(chunk.toString()); });
      ssh.resume();
    });
    expect(greeting).toBe('SSH-2.0-kaizen-test\r\n');
    const echo = new Promise<string>((resolve) => ssh.once('data', (chunk: Buffer) => { resolve(chunk.toString()); }));
    ssh.write('SSH-2.0-client\r\n');
    expect(await echo).toBe('SSH-2.0-client\r\n');
    ssh.destroy();
  });
});

describe('SNI check, tls.sni_mismatch: allow', () => {
  it('decides the SNI as its own connect action: a blocked name is refused, another goes through', async () => {
    const port = await start('allow');
    const blocked = await tunnel(port, `localhost:${origin.port}`);
    await expect(httpsGet(blocked, 'pastebin.com')).rejects.toThrow();
    const decision = await logs.waitFor((line) => line.msg === 'decision' && line['target'] === `pastebin.com:${origin.port}`);
    expect(decision).toMatchObject({ kind: 'connect', decision: 'block', source: 'local', reason: 'blocked by local policy "no-paste" (domains)' });
    expect(await closedLine(`localhost:${origin.port}`)).toMatchObject({ code: 'KZP_ERR_BLOCKED' });

    const body = await httpsGet(await tunnel(port, `localhost:${origin.port}`), 'fine.example');
    expect(body).toMatch(/^HTTP\/1\.1 200/);
    expect(logs.lines.some((line) => line.msg === 'decision' && line['target'] === `fine.example:${origin.port}` && line['decision'] === 'allow')).toBe(true);
  });

  it('labels the SNI action with its publisher, so a publisher rule refuses it', async () => {
    const port = await start('allow');
    const fronted = await tunnel(port, `localhost:${origin.port}`);
    await expect(httpsGet(fronted, 'files.hastebin.com')).rejects.toThrow();
    const decision = await logs.waitFor((line) => line.msg === 'decision' && line['target'] === `files.hastebin.com:${origin.port}`);
    expect(decision).toMatchObject({ kind: 'connect', decision: 'block', source: 'local', reason: 'blocked by local policy "no-paste-publisher" (publishers)' });
    expect(await closedLine(`localhost:${origin.port}`)).toMatchObject({ code: 'KZP_ERR_BLOCKED' });
  });
});
