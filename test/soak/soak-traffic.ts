/** The soak's clients: plain requests (allowed and blocked) and tunnels (short and long-lived), counted by outcome. */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface TrafficCounts {
  /** "http 200", "http 403", "tunnel ok", "tunnel 503", "error"... */
  readonly outcomes: Map<string, number>;
}

export interface TrafficTargets {
  readonly proxyPort: number;
  /** Allowed origins (http://127.0.0.1:PORT), one cache key per origin and method. */
  readonly origins: readonly string[];
  /** An origin the local policy blocks. */
  readonly blocked: string;
  /** TCP echo server port for tunnels. */
  readonly echoPort: number;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

export function startTraffic(targets: TrafficTargets, ratePerSecond: number, longLived: number): { readonly counts: TrafficCounts; stop(): Promise<void> } {
  const outcomes = new Map<string, number>();
  const count = (key: string): void => {
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const inFlight = new Set<Promise<void>>();
  const held = new Set<Socket>();
  let n = 0;
  let stopped = false;

  const track = (work: Promise<void>): void => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  function plain(url: string, method: string): Promise<void> {
    return new Promise((resolve) => {
      const body = method === 'GET' || method === 'DELETE' ? '' : 'x'.repeat(512);
      let settled = false;
      const settle = (key: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        count(key);
        resolve();
      };
      const req = request({ host: '127.0.0.1', port: targets.proxyPort, path: url, method, agent, headers: { 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => {
          settle(`http ${res.statusCode ?? 0}`);
        });
        res.on('error', () => {
          settle('http cut');
        });
      });
      // A timer of our own: the request's timeout option leaves listeners on reused keep-alive sockets.
      const timer = setTimeout(() => req.destroy(), 15_000);
      req.on('error', () => {
        settle('http error');
      });
      req.end(body);
    });
  }

  /** CONNECT to the echo server, send `bytes`, read them back; keep the socket when `hold`. */
  function tunnel(bytes: number, hold: boolean): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect(targets.proxyPort, '127.0.0.1');
      let head = '';
      let echoed = 0;
      let established = false;
      let finished = false;
      const finish = (key: string): void => {
        if (finished) return;
        finished = true;
        count(key);
        if (!hold || key !== 'tunnel ok') socket.destroy();
        else {
          held.add(socket);
          socket.once('close', () => held.delete(socket));
        }
        resolve();
      };
      socket.setTimeout(15_000, () => {
        finish('tunnel timeout');
      });
      socket.on('error', () => {
        if (!established) finish('tunnel error');
      });
      socket.on('data', (chunk: Buffer) => {
        if (!established) {
          head += chunk.toString('latin1');
          if (!head.includes('\r\n\r\n')) return;
          const status = head.slice(9, 12);
          if (status !== '200') {
            finish(`tunnel ${status}`);
            return;
          }
          established = true;
          socket.write(Buffer.alloc(bytes, 0x61));
          return;
        }
        echoed += chunk.length;
        if (echoed >= bytes && !finished) {
          socket.setTimeout(0);
          finish('tunnel ok');
        }
      });
      socket.once('connect', () => socket.write(`CONNECT 127.0.0.1:${targets.echoPort} HTTP/1.1\r\nHost: 127.0.0.1:${targets.echoPort}\r\n\r\n`));
    });
  }

  const tick = setInterval(() => {
    if (stopped) return;
    const perTick = Math.max(1, Math.round(ratePerSecond / 10));
    for (let i = 0; i < perTick; i += 1) {
      n += 1;
      const method = METHODS[n % METHODS.length] ?? 'GET';
      if (n % 10 === 0) track(plain(`${targets.blocked}/blocked/${n}`, method));
      else if (n % 7 === 0) track(tunnel(4096, held.size < longLived));
      else track(plain(`${targets.origins[n % targets.origins.length] ?? ''}/soak/${n}?q=${n}`, method));
    }
    // Long-lived tunnels carry a little traffic now and then.
    for (const socket of held) if (n % 5 === 0) socket.write('ping\n');
  }, 100);

  return {
    counts: { outcomes },
    async stop() {
      stopped = true;
      clearInterval(tick);
      await Promise.all(inFlight);
      for (const socket of held) socket.destroy();
      agent.destroy();
    },
  };
}
