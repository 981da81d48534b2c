import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/**
 * A loopback address:port whose SYNs are never answered: a listening socket with backlog 0 that
 * never accepts, its one-slot accept queue filled by a connection of its own. Connecting to it
 * hangs until the caller's connect timeout (the 504 case), without touching any other host.
 * Node always accepts, so the listener is a small python3 process.
 */
export interface Blackhole {
  readonly port: number;
  close(): Promise<void>;
}

const SCRIPT = [
  'import socket, sys',
  'host, port = sys.argv[1], int(sys.argv[2])',
  'family = socket.AF_INET6 if ":" in host else socket.AF_INET',
  's = socket.socket(family); s.bind((host, port)); s.listen(0)',
  'port = s.getsockname()[1]',
  'fill = socket.create_connection((host, port))',
  'print(port, flush=True)',
  'sys.stdin.read()',
].join('\n');

/** `host`: the loopback address to sit on (any of 127.0.0.0/8 on Linux, or ::1); `port` 0 for any free one. */
export async function startBlackhole(host = '127.0.0.1', port = 0): Promise<Blackhole> {
  const child: ChildProcess = spawn('python3', ['-c', SCRIPT, host, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  if (child.stdout === null) throw new Error('no stdout');
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  return {
    port: Number(line),
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin?.end();
      child.kill();
      await exited;
    },
  };
}
