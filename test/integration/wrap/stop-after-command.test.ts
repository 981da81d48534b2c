import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { startTcpOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { OPEN_LOOPBACK, runWrapper, startWrapper, type RunningWrapper } from './run-wrapper.js';

/** A command that sends `bytes` random bytes through a CONNECT tunnel to 127.0.0.1:`port`, prints their sha256, ends the socket and exits at once. */
function uploadScript(port: number, bytes: number): string {
  return [
    `const net = require('node:net');`,
    `const { createHash, randomBytes } = require('node:crypto');`,
    `const body = randomBytes(${String(bytes)});`,
    // Never a TLS record's first byte: the proxy would read the first flight as a ClientHello (opaque-bytes.ts).
    `if (body[0] === 0x16) body[0] = 0x17;`,
    `const proxy = new URL(process.env.HTTPS_PROXY);`,
    `const socket = net.connect(Number(proxy.port), proxy.hostname);`,
    `socket.write('CONNECT 127.0.0.1:${String(port)} HTTP/1.1\\r\\nHost: 127.0.0.1:${String(port)}\\r\\n\\r\\n');`,
    `let head = '';`,
    `socket.on('data', function answer(chunk) {`,
    `  head += chunk;`,
    `  if (!head.includes('\\r\\n\\r\\n')) return;`,
    `  socket.off('data', answer);`,
    `  if (!head.startsWith('HTTP/1.1 200 ')) { process.stderr.write(head); process.exit(1); }`,
    `  process.stdout.write(createHash('sha256').update(body).digest('hex') + '\\n');`,
    // 'finish': every byte handed to the kernel; the command is gone before the destination has them.
    `  socket.end(body, () => process.exit(0));`,
    `});`,
  ].join('\n');
}

/**
 * A command that opens a CONNECT tunnel to 127.0.0.1:`port`, reads its first download bytes, then
 * forks: the command exits 0 at once, the process it leaves behind reads on and prints how the
 * download ended ('end' for a clean EOF, 'reset'), as `sh -c 'python3 dl.py & sleep 1'` would.
 */
function leftDownloadScript(port: number): string {
  return [
    'import os, socket, sys',
    "proxy = os.environ['HTTPS_PROXY'].split('//')[1].rstrip('/')",
    "host, _, proxy_port = proxy.rpartition(':')",
    's = socket.create_connection((host, int(proxy_port)))',
    `s.sendall(b'CONNECT 127.0.0.1:${String(port)} HTTP/1.1\\r\\nHost: 127.0.0.1:${String(port)}\\r\\n\\r\\n')`,
    "data = b''",
    "while b'\\r\\n\\r\\n' not in data or data.endswith(b'\\r\\n\\r\\n'):",
    '    chunk = s.recv(65536)',
    '    if not chunk:',
    "        sys.exit('closed before any download')",
    '    data += chunk',
    "if not data.startswith(b'HTTP/1.1 200 '):",
    '    sys.exit(data.decode())',
    'if os.fork() != 0:',
    '    os._exit(0)',
    "outcome = 'end'",
    'try:',
    '    while s.recv(65536):',
    '        pass',
    'except ConnectionResetError:',
    "    outcome = 'reset'",
    'print(outcome, flush=True)',
  ].join('\n');
}

/**
 * A command that opens a connection to its proxy and sends nothing on it, makes sure the proxy has
 * accepted it (a later connection answered: one listener accepts in order), then forks: the command
 * exits 0 at once, the process it leaves behind holds the silent connection, prints `holding`, and
 * then how the connection ended ('end' for a clean EOF, 'reset').
 */
function leftSilentScript(): string {
  return [
    'import os, socket',
    "proxy = os.environ['HTTP_PROXY'].split('//')[1].rstrip('/')",
    "host, _, proxy_port = proxy.rpartition(':')",
    'silent = socket.create_connection((host, int(proxy_port)))',
    'probe = socket.create_connection((host, int(proxy_port)))',
    "probe.sendall(b'GET / HTTP/1.1\\r\\nHost: example.invalid\\r\\nConnection: close\\r\\n\\r\\n')",
    'while probe.recv(65536):',
    '    pass',
    'probe.close()',
    'if os.fork() != 0:',
    '    os._exit(0)',
    "print('holding', flush=True)",
    "outcome = 'end'",
    'try:',
    '    while silent.recv(65536):',
    '        pass',
    'except ConnectionResetError:',
    "    outcome = 'reset'",
    'print(outcome, flush=True)',
  ].join('\n');
}

/** A TCP origin writing 1 KiB every 20 ms to each connection until it closes; hands each socket to `onSocket`. */
async function startDripOrigin(onSocket: (socket: Socket) => void): Promise<{ readonly port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const timer = setInterval(() => socket.write(Buffer.alloc(1024, 120)), 20);
    socket.once('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
    });
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** How the wrapper's proxy stops once the command has exited: nobody is left to drain for. */
/**
 * A wrapper (drain_timeout 30s) whose command says where its proxy is, then waits for SIGUSR2 (not
 * forwarded: it comes from the test) to exit 0.
 */
async function startWaitingCommand(dir: string): Promise<{ readonly wrapper: RunningWrapper; readonly pid: number; readonly proxyPort: number }> {
  const config = join(dir, 'drain.yaml');
  await writeFile(config, 'limits: { drain_timeout: 30s }\n');
  const script = 'process.on("SIGUSR2", () => process.exit(0)); process.stdout.write(`${process.pid} ${process.env.HTTPS_PROXY}\\n`); setInterval(() => {}, 1000);';
  const wrapper = startWrapper(['-c', config, ...OPEN_LOOPBACK, '--', 'node', '-e', script]);
  await wrapper.waitForStdout('\n');
  const [pid, proxyUrl] = wrapper.stdout().trim().split(' ');
  return { wrapper, pid: Number(pid), proxyPort: Number(new URL(proxyUrl ?? '').port) };
}

describe('wrap mode stop', () => {
  it('delivers every byte a command sent through a tunnel before exiting, to a slow destination', async () => {
    // Reproduction: the proxy still held part of the upload (and the kernel the rest, the FIN last)
    // when the command exited; the close cut the tunnel and the destination got a clean FIN after
    // about 12 of 20 MB, which looked like the whole upload.
    const bytes = 20 * 1024 * 1024;
    const dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-stop-'));
    const sink = await startTcpOrigin({ slow: { startAfterMs: 1_000, pauseMs: 2 } });
    try {
      const config = join(dir, 'drain.yaml');
      await writeFile(config, 'limits: { drain_timeout: 30s }\n');
      const run = await runWrapper(['-c', config, ...OPEN_LOOPBACK, '--', 'node', '-e', uploadScript(sink.port, bytes)]);
      expect(run.code, run.stderr).toBe(0);
      expect(await sink.firstUpload).toEqual({ bytes, sha256: run.stdout.trim(), complete: true });
    } finally {
      await sink.close();
      await rm(dir, { recursive: true, force: true });
    }
  });


  // A process the command left behind (here the test) holds a tunnel: nothing will end it, nobody
  // waits for it. Spliced or still waiting for its first bytes, it is cut at once.
  it.each([
    ['waiting for its first bytes', false],
    ['that carried bytes both ways', true],
  ])('a tunnel %s and still open when the command exits is closed at once, not after drain_timeout', async (_, carry) => {
    const drainMs = 30_000;
    const dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-stop-'));
    const echo = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const { wrapper, pid, proxyPort } = await startWaitingCommand(dir);
      const tunnel = await RawClient.open(proxyPort);
      tunnel.write(`CONNECT 127.0.0.1:${String((echo.address() as AddressInfo).port)} HTTP/1.1\r\n\r\n`);
      expect(await tunnel.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
      if (carry) {
        tunnel.write('ping');
        expect(await tunnel.readBytes(4)).toBe('ping');
      }

      const exitedAt = performance.now();
      process.kill(pid, 'SIGUSR2');
      await tunnel.closed;
      const run = await wrapper.output;
      expect(run.code).toBe(0);
      expect(performance.now() - exitedAt).toBeLessThan(drainMs / 3);
    } finally {
      echo.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('a connection the command left behind that has sent nothing does not hold the exit until the drain deadline', async () => {
    // Reproduction: counted in flight like a request whose head is arriving, it held the wrapper
    // for min(header_timeout, drain_timeout) after the command had exited (here the 20 s deadline).
    const drainMs = 20_000;
    const dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-stop-'));
    try {
      const config = join(dir, 'drain.yaml');
      await writeFile(config, 'limits: { drain_timeout: 20s, header_timeout: 30s }\n');
      const log = join(dir, 'proxy.log');
      const wrapper = startWrapper(['-c', config, '--log-file', log, ...OPEN_LOOPBACK, '--', 'python3', '-c', leftSilentScript()]);
      const exited = new Promise<number | null>((resolve) => wrapper.process.once('exit', resolve));
      await wrapper.waitForStdout('holding\n');
      const forkedAt = performance.now();
      expect(await exited).toBe(0);
      expect(performance.now() - forkedAt).toBeLessThan(drainMs / 4);
      const run = await wrapper.output;
      // Closed when the proxy stopped: nothing was sent, so nothing is cut short.
      expect(run.stdout).toBe('holding\nend\n');
      const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', in_flight_cut: 0 }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a download still running when the command exits (its process left behind) is cut with a reset both ways, not a clean EOF', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-stop-'));
    let originEnds: Promise<string> = Promise.resolve('no connection');
    const origin = await startDripOrigin((socket) => {
      originEnds = howItEnds(socket);
    });
    try {
      const config = join(dir, 'drain.yaml');
      await writeFile(config, 'limits: { drain_timeout: 30s }\n');
      const log = join(dir, 'proxy.log');
      const run = await runWrapper(['-c', config, '--log-file', log, ...OPEN_LOOPBACK, '--', 'python3', '-c', leftDownloadScript(origin.port)]);
      expect(run.code, run.stderr).toBe(0);
      // A clean EOF mid-stream would tell the process left behind its download was complete.
      expect(run.stdout).toBe('reset\n');
      expect(await originEnds).toBe('ECONNRESET');
      // Cut by the proxy's stop, not by its destination: the closed line says so.
      const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.filter((line) => line['msg'] === 'closed')).toEqual([expect.objectContaining({ kind: 'connect', status: 200, code: 'KZP_ERR_SHUTDOWN' })]);
    } finally {
      await origin.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a tunnel whose download has ended and whose upload is quiet when the command exits keeps its clean close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-stop-'));
    let originEnds: Promise<string> = Promise.resolve('no connection');
    const done = createServer((socket) => {
      originEnds = howItEnds(socket);
      socket.on('error', () => undefined);
      socket.end('done');
    });
    await new Promise<void>((resolve) => done.listen(0, '127.0.0.1', resolve));
    try {
      const { wrapper, pid, proxyPort } = await startWaitingCommand(dir);
      // The test plays the process left behind: it holds the tunnel open after the download's end.
      const tunnel = await RawClient.open(proxyPort);
      const clientEnds = howItEnds(tunnel.socket);
      tunnel.write(`CONNECT 127.0.0.1:${String((done.address() as AddressInfo).port)} HTTP/1.1\r\n\r\n`);
      expect(await tunnel.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
      expect(await tunnel.readBytes(4)).toBe('done');
      expect(await clientEnds).toBe('end');

      process.kill(pid, 'SIGUSR2');
      await tunnel.closed;
      expect((await wrapper.output).code).toBe(0);
      expect(await originEnds).toBe('end');
    } finally {
      done.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
