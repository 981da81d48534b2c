import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { createFakeDecider, type FakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin } from '../../helpers/origins.js';
import { howItEnds, receivedUntilClose } from '../../helpers/socket-end.js';
import { sslv2ClientHello } from '../../helpers/sslv2-hello.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';
import { exchange, openTunnel } from './tunnel-client.js';

/** A TCP server on 127.0.0.1:0 running `onSocket` for each connection; `sockets` records them. */
async function listen(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {
      // A reset by the proxy is part of some tests.
    });
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, sockets };
}

/** What the socket receives until `text` appears in it, or until it closes. */
function readUntil(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let seen = '';
    const done = (): void => {
      socket.off('data', onData);
      socket.off('close', done);
      resolve(seen);
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('latin1');
      if (seen.includes(text)) done();
    };
    socket.on('data', onData);
    socket.once('close', done);
    socket.resume();
  });
}

/** The first thing a dialled destination socket sees: bytes from the client, or its close with nothing read. */
function firstOutcome(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => {
      resolve(`read ${String(chunk.length)} bytes`);
    });
    socket.once('close', () => {
      resolve('closed unread');
    });
  });
}

/**
 * intercept.hosts selects hosts, not ports: a CONNECT to another port of an intercepted host may
 * carry a protocol that is neither TLS nor HTTP (SSH on 22, SMTP on 25). Such a tunnel is the
 * ordinary one the CONNECT's verdict allowed, not a broken interception.
 */
describe('interception: protocols that are neither TLS nor HTTP', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let decider: FakeDecider;
  let proxy: StartedProxy;
  const servers: Server[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-intercept-other-'));
    ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    decider = createFakeDecider();
    proxy = await startProxy({
      decider,
      resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
      interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) }),
    });
  });

  afterAll(async () => {
    await proxy.close();
    for (const server of servers) server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a server that speaks first (an SMTP banner) reaches the client, and the dialogue goes on', async () => {
    const banner = await listen((socket) => {
      socket.write('220 mail.stripe.com ESMTP ready\r\n');
      socket.on('data', (chunk: Buffer) => socket.write(`250 ${chunk.toString('latin1')}`));
    });
    servers.push(banner.server);
    const target = `mail.stripe.com:${banner.port}`;
    const client = await openTunnel(proxy.port, target);
    expect(await readUntil(client, '\r\n')).toBe('220 mail.stripe.com ESMTP ready\r\n');
    client.write('EHLO agent\r\n');
    expect(await readUntil(client, 'agent\r\n')).toBe('250 EHLO agent\r\n');
    client.end();
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === target);
    expect(closed).toMatchObject({ kind: 'connect', status: 200, intercept_skipped: 'server_first', bytes_up: 12 });
    expect(closed['code']).toBeUndefined();
    // The tunnel was decided once, as a tunnel; nothing inside it became an http action.
    expect(decider.calls.filter((call) => call.action.target === target).map((call) => call.action.kind)).toEqual(['connect']);
  });

  it('a client that speaks first in another protocol (SSH) reaches the origin, and the answer comes back', async () => {
    const received: string[] = [];
    const ssh = await listen((socket) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk.toString('latin1'));
        if (received.join('').includes('\r\n')) socket.write('SSH-2.0-origin\r\n');
      });
    });
    servers.push(ssh.server);
    const target = `ssh.stripe.com:${ssh.port}`;
    const client = await openTunnel(proxy.port, target);
    const answer = readUntil(client, '\r\n');
    client.write('SSH-2.0-OpenSSH_9.6\r\n');
    expect(await answer).toBe('SSH-2.0-origin\r\n');
    expect(received.join('')).toBe('SSH-2.0-OpenSSH_9.6\r\n');
    client.destroy();
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === target);
    expect(closed).toMatchObject({ kind: 'connect', status: 200, intercept_skipped: 'not_tls_or_http' });
  });

  it('a TLS client that stays silent past the wait is still intercepted when it speaks: the dialled origin is dropped unread', async () => {
    const origin = await listen(() => {
      // Never speaks: an HTTPS origin waits for the client.
    });
    servers.push(origin.server);
    const target = `slow.stripe.com:${origin.port}`;
    const dialled = new Promise<Socket>((resolve) => origin.server.once('connection', resolve));
    const socket = await openTunnel(proxy.port, target);
    // The proxy dials the origin only once the client has said nothing for the first-flight wait.
    const upstream = await Promise.race([
      dialled,
      new Promise<never>((_resolve, reject) => socket.once('close', () => { reject(new Error('the proxy closed the silent client without dialling')); })),
    ]);
    const upstreamData: Buffer[] = [];
    upstream.on('data', (chunk: Buffer) => upstreamData.push(chunk));
    const upstreamClosed = new Promise<void>((resolve) => upstream.once('close', () => { resolve(); }));
    const tls = tlsConnect({ socket, servername: 'slow.stripe.com', ca: ca.certPem, ALPNProtocols: ['http/1.1'] });
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve);
      tls.once('error', reject);
    });
    expect(tls.getPeerCertificate().issuer.CN).toBe('kaizen-proxy test interception CA');
    await upstreamClosed;
    expect(upstreamData).toEqual([]);
    tls.destroy();
  });

  it('a silent client that resets before either side spoke: the dialled destination reads the reset, not a clean end', async () => {
    let accepted: (socket: Socket) => void = () => undefined;
    const dialled = new Promise<Socket>((resolve) => {
      accepted = resolve;
    });
    const origin = await listen((socket) => {
      accepted(socket);
    });
    servers.push(origin.server);
    const client = await openTunnel(proxy.port, `reset.stripe.com:${origin.port}`);
    // Silent past the first-flight wait, the proxy dials (its side connects before this one is
    // accepted) and waits for whichever side speaks first: the client resets instead.
    const upstream = await dialled;
    const ends = howItEnds(upstream);
    client.resetAndDestroy();
    expect(await ends).toBe('ECONNRESET');
  });

  /** The closed line of the intercepted CONNECT to `target` (not that of a request inside it). */
  function sessionClosed(target: string): Promise<LogLine> {
    return proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'connect' && line['target'] === target);
  }

  it.each([5, 4_000])('%i blank lines before a request line are HTTP, not another protocol: every request on the session is decided and pinned', async (lines) => {
    const origin = await startOrigin();
    const target = `blank${String(lines)}.stripe.com:${String(origin.port)}`;
    try {
      const client = await openTunnel(proxy.port, target);
      client.resume();
      const first = await exchange(client, `${'\r\n'.repeat(lines)}GET /after-blank-lines HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      expect(first.status).toBe(200);
      const elsewhere = await exchange(client, 'GET /elsewhere HTTP/1.1\r\nHost: other.example\r\n\r\n');
      expect(elsewhere.status).toBe(421);
      client.destroy();
      expect(decider.calls.filter((call) => call.action.target === target).map((call) => [call.action.kind, call.action.metadata.path])).toEqual([
        ['connect', undefined],
        ['http', '/after-blank-lines'],
      ]);
      expect(origin.requests.map((seen) => seen.url)).toEqual(['/after-blank-lines']);
      expect((await sessionClosed(target))['intercept_skipped']).toBeUndefined();
    } finally {
      await origin.close();
    }
  });

  it('a ClientHello in SSL 2.0 record format is TLS: the interception answers it, the destination is never dialled', async () => {
    const origin = await listen((socket) => {
      socket.end();
    });
    servers.push(origin.server);
    const target = `sslv2.stripe.com:${String(origin.port)}`;
    const client = await openTunnel(proxy.port, target);
    const answer = receivedUntilClose(client);
    client.write(sslv2ClientHello());
    // The interception's TLS server refuses it (no extensions, no cipher it serves): a TLS alert, then the close.
    expect((await answer).subarray(0, 2)).toEqual(Buffer.from([0x15, 0x03]));
    expect(origin.sockets).toEqual([]);
    const closed = await sessionClosed(target);
    expect(closed).toMatchObject({ status: 200, code: 'KZP_ERR_INTERCEPT_TLS' });
    expect(closed['intercept_skipped']).toBeUndefined();
  });

  it.each([
    ['blank lines and a request line', (target: string) => Buffer.from(`${'\r\n'.repeat(5)}GET /late HTTP/1.1\r\nHost: ${target}\r\n\r\n`, 'latin1')],
    ['a ClientHello in SSL 2.0 record format', () => sslv2ClientHello()],
    ['a request line with a CR between its words', (target: string) => Buffer.from(`GET\r/late HTTP/1.0\r\nHost: ${target}\r\n\r\n`, 'latin1')],
  ])('a client silent past the wait that then sends %s is intercepted: the dialled destination is dropped unread', async (_name, flight) => {
    const origin = await listen(() => {
      // Never speaks first, as neither an HTTP nor a TLS server does.
    });
    servers.push(origin.server);
    const dialled = new Promise<Socket>((resolve) => origin.server.once('connection', resolve));
    const target = `late.stripe.com:${String(origin.port)}`;
    const client = await openTunnel(proxy.port, target);
    const upstream = await dialled;
    const outcome = firstOutcome(upstream);
    client.write(flight(target));
    expect(await outcome).toBe('closed unread');
    client.destroy();
    expect((await sessionClosed(target))['intercept_skipped']).toBeUndefined();
  });

  it.each([
    ['an unknown method (get)', 'lower', 'get /v1/customers/42 HTTP/1.1'],
    ['an unknown method (GETX)', 'upper', 'GETX /v1/customers/42 HTTP/1.1'],
    ['a space before the method', 'space', ' GET /v1/customers/42 HTTP/1.1'],
    ['tabs between the words', 'tabs', 'GET\t/v1/customers/42\tHTTP/1.1'],
    ['a space before an HTTP/0.9 GET', 'simple', ' GET /v1/customers/42'],
  ])('a request line with %s (one a lenient origin such as Go or Python serves) is refused by the interception, never passed through', async (_what, name, line) => {
    const read: string[] = [];
    // Like a lenient server: any first line gets a 200.
    const lenient = await listen((socket) => {
      socket.on('data', (chunk: Buffer) => {
        read.push(chunk.toString('latin1'));
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    servers.push(lenient.server);
    const target = `lenient-${name}.stripe.com:${String(lenient.port)}`;
    const client = await openTunnel(proxy.port, target);
    client.resume();
    const answer = await exchange(client, `${line}\r\nHost: ${target}\r\n\r\n`);
    expect(answer.status).toBe(400);
    client.destroy();
    expect((await sessionClosed(target))['intercept_skipped']).toBeUndefined();
    expect(read).toEqual([]);
  });
});
