import { once } from 'node:events';
import { createServer, Socket, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { directConnector } from '../../../src/net/connector.js';
import { alternateFamilies, dial, dialThen, type DialResult } from '../../../src/net/dial.js';
import type { Target } from '../../../src/contract/target.js';
import { startBlackhole, type Blackhole } from '../../helpers/blackhole.js';

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/** A listener on `host:port` that counts the connections it accepts. */
async function listen(host: string, port: number): Promise<{ server: Server; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined);
  });
  server.listen(port, host);
  await once(server, 'listening');
  return { server, accepted: () => accepted };
}

describe('dial: staggered attempts (Happy Eyeballs)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  /** A port whose SYNs vanish on 127.0.0.2, and an accepting listener on the same port of 127.0.0.1. */
  async function deadThenAlive(): Promise<{ blackhole: Blackhole; accepted: () => number }> {
    const blackhole = await startBlackhole('127.0.0.2');
    cleanup.push(() => blackhole.close());
    const alive = await listen('127.0.0.1', blackhole.port);
    cleanup.push(() => closeServer(alive.server));
    return { blackhole, accepted: alive.accepted };
  }

  it('an address whose SYNs vanish costs one attempt delay, not the connect timeout', async () => {
    const { blackhole, accepted } = await deadThenAlive();
    // With one address at a time this dial would wait out the 20 s timeout.
    const dialed = await dial(['127.0.0.2', '127.0.0.1'], blackhole.port, { connectTimeoutMs: 20_000 });
    expect(dialed).toMatchObject({ ok: true, address: '127.0.0.1' });
    if (dialed.ok) dialed.socket.destroy();
    expect(accepted()).toBeLessThanOrEqual(1);
  });

  it('a refused address starts the next at once', async () => {
    const refused = await listen('127.0.0.1', 0);
    const port = (refused.server.address() as { port: number }).port;
    await closeServer(refused.server);
    const alive = await listen('127.0.0.3', port);
    cleanup.push(() => closeServer(alive.server));
    // The stagger timer would wait a minute: only the refusal can start the second attempt in time.
    const dialed = await dial(['127.0.0.1', '127.0.0.3'], port, { connectTimeoutMs: 20_000, attemptDelayMs: 60_000 });
    expect(dialed).toMatchObject({ ok: true, address: '127.0.0.3' });
    if (dialed.ok) dialed.socket.destroy();
  });

  it('times out only when every attempt has', async () => {
    const first = await startBlackhole('127.0.0.1');
    cleanup.push(() => first.close());
    const dialed = await dial(['127.0.0.1', '127.0.0.1'], first.port, { connectTimeoutMs: 300 });
    expect(dialed).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_TIMEOUT', aborted: false });
  });

  it('a refused last attempt still waits for one in flight', async () => {
    const { blackhole } = await deadThenAlive();
    // 127.0.0.4 refuses at once (nothing listens there); 127.0.0.2 hangs, then 127.0.0.1 answers.
    const dialed = await dial(['127.0.0.2', '127.0.0.4', '127.0.0.1'], blackhole.port, { connectTimeoutMs: 20_000 });
    expect(dialed).toMatchObject({ ok: true, address: '127.0.0.1' });
    if (dialed.ok) dialed.socket.destroy();
  });

  it('stops every attempt when its owner closes', async () => {
    const blackhole = await startBlackhole('127.0.0.2');
    cleanup.push(() => blackhole.close());
    const owner = new Socket();
    const dialing = dial(['127.0.0.2', '127.0.0.2'], blackhole.port, { connectTimeoutMs: 20_000, attemptDelayMs: 1, owner });
    owner.destroy();
    expect(await dialing).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: true });
  });

  it('dials a single address alone: connects, or reports a refusal, a timeout or its owner leaving', async () => {
    const alive = await listen('127.0.0.1', 0);
    cleanup.push(() => closeServer(alive.server));
    const port = (alive.server.address() as { port: number }).port;
    const connected = await dial(['127.0.0.1'], port, { connectTimeoutMs: 20_000, owner: new Socket() });
    expect(connected).toMatchObject({ ok: true, address: '127.0.0.1' });
    if (connected.ok) connected.socket.destroy();

    const refused = await listen('127.0.0.1', 0);
    const refusedPort = (refused.server.address() as { port: number }).port;
    await closeServer(refused.server);
    expect(await dial(['127.0.0.1'], refusedPort, { connectTimeoutMs: 20_000 })).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: false });

    const blackhole = await startBlackhole('127.0.0.2');
    cleanup.push(() => blackhole.close());
    expect(await dial(['127.0.0.2'], blackhole.port, { connectTimeoutMs: 300 })).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_TIMEOUT', aborted: false });

    const owner = new Socket();
    const dialing = dial(['127.0.0.2'], blackhole.port, { connectTimeoutMs: 20_000, owner });
    owner.destroy();
    expect(await dialing).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: true });
    expect(await dial(['127.0.0.2'], blackhole.port, { connectTimeoutMs: 20_000, owner })).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: true });
    expect(owner.listenerCount('close')).toBe(0);
  });

  it('alternates address families from the first one given', () => {
    expect(alternateFamilies(['2001:db8::1', '2001:db8::2', '192.0.2.1', '192.0.2.2'])).toEqual(['2001:db8::1', '192.0.2.1', '2001:db8::2', '192.0.2.2']);
    expect(alternateFamilies(['192.0.2.1', '2001:db8::1', '2001:db8::2'])).toEqual(['192.0.2.1', '2001:db8::1', '2001:db8::2']);
    expect(alternateFamilies(['192.0.2.1', '192.0.2.2'])).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(alternateFamilies(['192.0.2.1'])).toEqual(['192.0.2.1']);
  });
});

describe('dialThen and the direct connector\'s openThen: callbacks instead of a promise', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const target = (port: number): Target => ({ host: '127.0.0.1', port, hostType: 'ipv4', authority: `127.0.0.1:${String(port)}` });

  it('reports once, with the connected socket, from the connection\'s event', async () => {
    const alive = await listen('127.0.0.1', 0);
    cleanup.push(() => closeServer(alive.server));
    const port = (alive.server.address() as { port: number }).port;
    const results: DialResult[] = [];
    const reported = new Promise<void>((resolve) => {
      dialThen(['127.0.0.1'], port, { connectTimeoutMs: 5_000 }, {
        dialed: (result) => {
          results.push(result);
          resolve();
        },
      });
    });
    // Not inside the call: the connection has not been made yet.
    expect(results).toEqual([]);
    await reported;
    const [result] = results;
    expect(result).toMatchObject({ ok: true, address: '127.0.0.1' });
    if (result?.ok === true) {
      expect(result.socket.remoteAddress).toBe('127.0.0.1');
      result.socket.destroy();
    }
    expect(results).toHaveLength(1);
  });

  it('reports a refused port as a connect failure, and an owner gone already inside the call', async () => {
    const refused = await listen('127.0.0.1', 0);
    const port = (refused.server.address() as { port: number }).port;
    await closeServer(refused.server);
    const failed = await new Promise<DialResult>((resolve) => {
      dialThen(['127.0.0.1'], port, { connectTimeoutMs: 5_000 }, { dialed: resolve });
    });
    expect(failed).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: false });
    const gone = new Socket();
    gone.destroy();
    let aborted: DialResult | undefined;
    dialThen(['127.0.0.1', '127.0.0.2'], port, { connectTimeoutMs: 5_000, owner: gone }, {
      dialed: (result) => {
        aborted = result;
      },
    });
    expect(aborted).toEqual({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: true });
  });

  it('hands a dial that throws to dialFailed, and a dial that ends to dialed', async () => {
    const alive = await listen('127.0.0.1', 0);
    cleanup.push(() => closeServer(alive.server));
    const port = (alive.server.address() as { port: number }).port;
    const errors: unknown[] = [];
    // Node refuses the port before any socket is made.
    directConnector.openThen(target(70_000), ['127.0.0.1'], { connectTimeoutMs: 5_000 }, {
      dialed: () => {
        throw new Error('not expected');
      },
      dialFailed: (error) => errors.push(error),
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_SOCKET_BAD_PORT' });
    const dialed = await new Promise<DialResult>((resolve, reject) => {
      directConnector.openThen(target(port), ['127.0.0.1'], { connectTimeoutMs: 5_000 }, { dialed: resolve, dialFailed: reject });
    });
    expect(dialed).toMatchObject({ ok: true, address: '127.0.0.1' });
    if (dialed.ok) dialed.socket.destroy();
  });
});
