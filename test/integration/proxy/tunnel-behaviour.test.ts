import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decider, NameRefusingDecider, Resolution } from '../../../src/contract/decision.js';
import type { Target } from '../../../src/contract/target.js';
import { resolveTarget } from '../../../src/net/resolve.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { opaqueBytes } from '../../helpers/opaque-bytes.js';
import { startOrigin, startTcpOrigin, type Origin, type TcpOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { readSlowly, type Received } from './slow-receiver.js';

describe('tunnel behaviour', () => {
  let tcp: TcpOrigin;
  let held: Origin;
  let proxy: StartedProxy;
  let release: () => void = () => undefined;
  const until = new Promise<void>((resolve) => {
    release = resolve;
  });
  const events: string[] = [];
  const fake = createFakeDecider({ hold: { targets: ['localhost'], until } });
  const decider: Decider & NameRefusingDecider = {
    decide: (request) => {
      events.push(`decide ${request.action.target}`);
      return fake.decide(request);
    },
    // Asked before the lookup; refusing nothing, it must not delay it behind the verdict.
    refuseByName: (action) => {
      events.push(`name ${action.target}`);
      return undefined;
    },
  };
  const resolve = (target: Target): Promise<Resolution> => {
    events.push(`resolve ${target.authority}`);
    return resolveTarget(target);
  };

  beforeAll(async () => {
    [tcp, held] = await Promise.all([startTcpOrigin(), startOrigin()]);
    proxy = await startProxy({ decider, resolve });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), tcp.close(), held.close()]);
  });

  async function openTunnel(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const client = await RawClient.open(proxy.port);
    client.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
    return client;
  }

  it('carries 1 MB exactly and a half-close: the answer still flows after the client FIN', async () => {
    const client = await openTunnel(tcp.port);
    const payload = opaqueBytes(1024 * 1024);
    client.write(payload);
    client.end();
    const answer = await client.readToEnd();
    expect(answer).toBe(`${payload.length} ${createHash('sha256').update(payload).digest('hex')}`);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['bytes_up'] === payload.length);
    expect(closed).toMatchObject({ kind: 'connect', status: 200, target: `127.0.0.1:${tcp.port}`, bytes_down: answer.length });
  });

  it('after the client FIN, brings an answer larger than the socket buffers whole to a slow reader, then a clean FIN', async () => {
    const answer = randomBytes(16 * 1024 * 1024);
    const origin = createServer({ allowHalfOpen: true }, (socket) => {
      socket.resume();
      socket.once('end', () => {
        socket.end(answer);
      });
    });
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    const port = (origin.address() as AddressInfo).port;
    const client = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    try {
      client.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      const [head] = (await once(client, 'data')) as [Buffer];
      expect(head.toString('latin1')).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
      client.end();
      // Both directions have ended once the origin's FIN is read, so the proxy closes the client
      // side (src/net/relay-reads.ts endSink) while the kernel still holds megabytes for it: they
      // must all arrive, then the FIN. A reset instead would fail the read rather than end it.
      const received = await new Promise<Received>((resolve, reject) => {
        client.once('error', reject);
        readSlowly(client).then(resolve, reject);
      });
      expect(received).toEqual({ bytes: answer.length, sha: createHash('sha256').update(answer).digest('hex') });
      const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === `127.0.0.1:${port}`);
      expect(closed).toMatchObject({ bytes_up: 0, bytes_down: answer.length });
    } finally {
      client.destroy();
      await new Promise((resolve) => origin.close(resolve));
    }
  });

  it('passes a destination FIN that comes before any byte to the client at once, and keeps the upload open', async () => {
    // A server that accepts and shuts its side at once (a server-speaks-first service refusing
    // work): the client must see the FIN while the first-flight gate still waits for its bytes,
    // and what it sends afterwards must still reach the destination (half-close).
    let onReceived: (text: string) => void = () => undefined;
    const received = new Promise<string>((resolve) => {
      onReceived = resolve;
    });
    const origin = createServer({ allowHalfOpen: true }, (socket) => {
      socket.end();
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      socket.once('end', () => {
        onReceived(text);
      });
    });
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    const port = (origin.address() as AddressInfo).port;
    const client = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    try {
      let got = '';
      client.setEncoding('latin1');
      client.on('data', (chunk: string) => {
        got += chunk;
      });
      client.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      await once(client, 'end');
      expect(got).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
      // Before the fix the FIN came only with the idle timeout, which destroyed the tunnel: these
      // bytes then never arrived.
      client.end('after-fin');
      expect(await received).toBe('after-fin');
      const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === `127.0.0.1:${port}`);
      expect(closed).toMatchObject({ status: 200, bytes_up: 9, bytes_down: 0 });
    } finally {
      client.destroy();
      await new Promise((resolve) => origin.close(resolve));
    }
  });

  it('survives a client that resets mid-tunnel and opens the next tunnel', async () => {
    const client = await openTunnel(tcp.port);
    client.write(opaqueBytes(64 * 1024));
    client.socket.resetAndDestroy();
    await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'connect' && line['bytes_up'] !== 1024 * 1024);
    const next = await openTunnel(tcp.port);
    next.write('ok');
    next.end();
    expect(await next.readToEnd()).toMatch(/^2 /);
  });

  it('starts DNS (after the name check) before asking for the verdict, sends no SYN before it, and forwards bytes sent meanwhile', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`CONNECT localhost:${held.port} HTTP/1.1\r\n\r\n`);
    await fake.waitForCall((request) => request.action.target === `localhost:${held.port}`);
    expect(events.slice(-3)).toEqual([`name localhost:${held.port}`, `resolve localhost:${held.port}`, `decide localhost:${held.port}`]);
    const resolution = await fake.calls.at(-1)?.resolution;
    expect(resolution).toMatchObject({ ok: true, addresses: expect.arrayContaining(['127.0.0.1']) as unknown });
    expect(held.connections).toBe(0);
    // Sent before the tunnel exists: kept, and forwarded first once it does.
    client.write('GET /after-verdict HTTP/1.1\r\nHost: x\r\n\r\n');
    release();
    expect(await client.readUntil('\r\n\r\n')).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
    expect((await client.readResponse()).status).toBe(200);
    expect(held.connections).toBe(1);
    client.destroy();
  });

  it('keeps a tunnel whose bytes keep flowing past the idle timeout, then closes it once quiet', async () => {
    const idle = await startProxy({ network: { idleTimeoutMs: 150 } });
    try {
      const client = await RawClient.open(idle.port);
      client.write(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\n\r\n`);
      expect(await client.readUntil('\r\n\r\n')).toContain(' 200 ');
      // A byte every 50 ms for 500 ms: more than three idle timeouts, never one without a read.
      const started = performance.now();
      for (let i = 0; i < 10; i++) {
        client.write('x');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(performance.now() - started).toBeGreaterThan(3 * 150);
      client.end();
      expect(await client.readToEnd()).toBe(`10 ${createHash('sha256').update('x'.repeat(10)).digest('hex')}`);
      const closed = await idle.logs.waitFor((line) => line.msg === 'closed');
      expect(closed).toMatchObject({ kind: 'connect', status: 200, bytes_up: 10 });

      // Quiet after its first byte: closed by the idle timeout, with nothing more from either side.
      const quiet = await RawClient.open(idle.port);
      quiet.write(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\n\r\n`);
      expect(await quiet.readUntil('\r\n\r\n')).toContain(' 200 ');
      quiet.write('y');
      await quiet.closed;
      const second = await idle.logs.waitFor((line) => line.msg === 'closed' && line.bytes_up === 1);
      expect(second).toMatchObject({ kind: 'connect', status: 200, bytes_down: 0 });
    } finally {
      await idle.close();
    }
  });

  it('closes both sides of a tunnel that stays idle past the idle timeout', async () => {
    const idle = await startProxy({ network: { idleTimeoutMs: 150 } });
    try {
      const client = await RawClient.open(idle.port);
      client.write(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\n\r\n`);
      expect(await client.readUntil('\r\n\r\n')).toContain(' 200 ');
      await client.closed;
      const closed = await idle.logs.waitFor((line) => line.msg === 'closed');
      expect(closed).toMatchObject({ kind: 'connect', status: 200, bytes_up: 0, bytes_down: 0 });
    } finally {
      await idle.close();
    }
  });
});
