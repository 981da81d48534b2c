import { once } from 'node:events';
import { watchChild } from './watched-child.js';

/**
 * A lenient HTTP origin: Python's http.server, which reads a request line up to its LF, splits it
 * on any whitespace (a CR within it included) and here serves any method with `200 ok`. It prints
 * `accepted` for each connection and `served <request line>` for each request it answers.
 */
export interface LenientOrigin {
  readonly port: number;
  /** What it printed so far, a line each. */
  readonly lines: () => readonly string[];
  /** Resolves once it accepts a connection after this call (never if it accepts none). */
  readonly nextAccepted: () => Promise<void>;
  close(): Promise<void>;
}

const SCRIPT = [
  'import http.server',
  'class Lenient(http.server.BaseHTTPRequestHandler):',
  '    def setup(self):',
  '        super().setup()',
  "        print('accepted', flush=True)",
  '    def __getattr__(self, name):',
  "        if name.startswith('do_'):",
  '            return self.serve',
  '        raise AttributeError(name)',
  '    def serve(self):',
  "        print('served', repr(self.requestline), flush=True)",
  '        self.send_response(200)',
  "        self.send_header('Content-Length', '2')",
  '        self.end_headers()',
  "        self.wfile.write(b'ok')",
  '    def log_message(self, *args):',
  '        pass',
  "server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Lenient)",
  "print('port', server.server_address[1], flush=True)",
  'server.serve_forever()',
].join('\n');

export async function startLenientOrigin(): Promise<LenientOrigin> {
  const child = watchChild('python3', ['-c', SCRIPT]);
  await child.waitForStdout('\n');
  const lines = (): string[] => child.stdout().split('\n').filter((line) => line !== '');
  const port = Number(/^port (\d+)$/.exec(lines()[0] ?? '')?.[1]);
  return {
    port,
    lines: () => lines().slice(1),
    nextAccepted: () => {
      const accepted = (): number => lines().filter((line) => line === 'accepted').length;
      const before = accepted();
      return new Promise((resolve) => {
        const onData = (): void => {
          if (accepted() === before) return;
          child.process.stdout?.off('data', onData);
          resolve();
        };
        child.process.stdout?.on('data', onData);
      });
    },
    close: async () => {
      if (child.process.exitCode !== null) return;
      const exited = once(child.process, 'exit');
      child.process.kill();
      await exited;
    },
  };
}
