import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../reflex/cli-process.js';

/** Times the proxy's main thread has gone to sleep and been woken (Linux counts it per thread). */
function mainThreadWakeups(pid: number): number {
  const match = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error('no voluntary_ctxt_switches in /proc/PID/status');
  return Number(match[1]);
}

let proxy: ServeProcess | null = null;
let origin: Server | null = null;

afterEach(async () => {
  await proxy?.stop();
  proxy = null;
  origin?.close();
  origin = null;
});

describe('an idle proxy', () => {
  // A sidecar beside every agent: while nothing is served it should sleep. prom-client's event-loop
  // monitor woke it 100 times a second, and a log-flush interval and the header-timeout sweep did too.
  it('sleeps once the last connection has closed: its timers stop with the work', async () => {
    origin = createServer((_req, res) => {
      res.end('ok');
    });
    await new Promise<void>((resolve) => origin?.listen(0, '127.0.0.1', resolve));
    const originPort = (origin.address() as AddressInfo).port;
    proxy = await startServe(['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '127.0.0.0/8']);
    const pid = proxy.child.pid ?? 0;

    // Work first, so every timer that work starts has been started.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy?.port, path: `http://127.0.0.1:${String(originPort)}/`, agent: false }, (res) => {
        res.resume().on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      });
      req.on('error', reject).end();
    });
    expect(status).toBe(200);
    await proxy.waitFor((line) => line['msg'] === 'closed');

    // The event-loop sampling stops within two of its 2 s checks of the last activity.
    await delay(4_500);
    const before = mainThreadWakeups(pid);
    await delay(2_000);
    const wakeups = mainThreadWakeups(pid) - before;
    // Measured: 0-2 in 2 s (V8's own housekeeping); with the 10 ms monitor it was about 400.
    expect(wakeups).toBeLessThan(20);
  }, 20_000);
});
