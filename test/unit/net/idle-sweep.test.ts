import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IdleSweep } from '../../../src/net/idle-sweep.js';

// Idle timeouts by one sweep (src/net/idle-sweep.ts), on real loopback sockets: a watch fires once
// its sockets have read nothing for the timeout, reads put it off, stop() and restart() do what
// they say, and a timeout of 0 watches nothing.

let server: Server;
const accepted: Socket[] = [];
const opened: Socket[] = [];
const sweeps: IdleSweep[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterEach(() => {
  for (const sweep of sweeps.splice(0)) sweep.close();
  for (const socket of [...opened.splice(0), ...accepted.splice(0)]) socket.destroy();
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

/** A connected pair: what the client writes, `far` reads. */
async function pair(): Promise<{ near: Socket; far: Socket }> {
  const near = connect((server.address() as AddressInfo).port, '127.0.0.1');
  opened.push(near);
  const count = accepted.length;
  await once(near, 'connect');
  while (accepted.length === count) await once(server, 'connection');
  const far = accepted[accepted.length - 1];
  if (far === undefined) throw new Error('no accepted socket');
  far.resume();
  return { near, far };
}

function sweep(timeoutMs: number): IdleSweep {
  const made = new IdleSweep(timeoutMs);
  sweeps.push(made);
  return made;
}

/** Resolves with the time (performance.now()) the watch first reports idle. */
function firstIdle(made: IdleSweep, first: Socket, second: Socket | null = null): { fired: Promise<number>; stop: () => void; restart: () => void } {
  let fire: (at: number) => void = () => undefined;
  const fired = new Promise<number>((resolve) => {
    fire = resolve;
  });
  const watch = made.watch(first, second, () => {
    fire(performance.now());
  });
  return {
    fired,
    stop: () => {
      watch.stop();
    },
    restart: () => {
      watch.restart();
    },
  };
}

describe('IdleSweep', () => {
  it('reports a connection that reads nothing once the timeout has passed, not before', async () => {
    const { far } = await pair();
    const made = sweep(120);
    const start = performance.now();
    const watch = firstIdle(made, far);
    const at = await watch.fired;
    expect(at - start).toBeGreaterThanOrEqual(120);
    expect(made.size).toBe(1);
    watch.stop();
    expect(made.size).toBe(0);
  });

  it('puts the deadline off while either socket keeps reading, and counts from the last read', async () => {
    const { near, far } = await pair();
    const other = await pair();
    const made = sweep(120);
    const watch = firstIdle(made, far, other.far);
    // Bytes every 40 ms for 400 ms, alternating sockets: never 120 ms without a read by one of them.
    let lastWrite = performance.now();
    for (let i = 0; i < 10; i++) {
      (i % 2 === 0 ? near : other.near).write('x');
      lastWrite = performance.now();
      const early = await Promise.race([
        watch.fired,
        new Promise<null>((resolve) => {
          setTimeout(() => {
            resolve(null);
          }, 40);
        }),
      ]);
      expect(early).toBeNull();
    }
    const at = await watch.fired;
    expect(at - lastWrite).toBeGreaterThanOrEqual(120 - 5);
  });

  it('never reports a stopped watch, and restart() starts the idle time over', async () => {
    const { far } = await pair();
    const second = await pair();
    const made = sweep(100);
    let stoppedFired = false;
    const stopped = made.watch(far, null, () => {
      stoppedFired = true;
    });
    stopped.stop();
    stopped.stop();
    const restarted = firstIdle(made, second.far);
    const reference = firstIdle(made, second.near);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const restartedAt = performance.now();
    restarted.restart();
    const referenceAt = await reference.fired;
    const at = await restarted.fired;
    expect(at).toBeGreaterThan(referenceAt);
    expect(at - restartedAt).toBeGreaterThanOrEqual(100);
    expect(stoppedFired).toBe(false);
  });

  it('reports again after each further timeout until stopped (what a lane connection with a response in flight relies on)', async () => {
    const { far } = await pair();
    const made = sweep(60);
    const times: number[] = [];
    const twice = new Promise<void>((resolve) => {
      const watch = made.watch(far, null, () => {
        times.push(performance.now());
        if (times.length === 2) {
          watch.stop();
          resolve();
        }
      });
    });
    await twice;
    const [first = 0, second = 0] = times;
    // The sweep times a watch by the clock it read before calling back; these times are read in the
    // callbacks, so a first callback that ran later in its sweep than the second shortens the gap by
    // that lag (0.34 ms once in CI). A watch reported on every sweep would show 10 ms gaps.
    expect(second - first).toBeGreaterThanOrEqual(55);
    expect(made.size).toBe(0);
  });

  it('watches nothing with a timeout of 0, as socket.setTimeout(0)', async () => {
    const { far } = await pair();
    const off = sweep(0);
    let fired = false;
    const watch = off.watch(far, null, () => {
      fired = true;
    });
    expect(off.size).toBe(0);
    // A real watch on another sweep fires; the one with timeout 0 still has not.
    const reference = firstIdle(sweep(30), far);
    await reference.fired;
    expect(fired).toBe(false);
    watch.restart();
    watch.stop();
  });
});
