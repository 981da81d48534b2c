import { spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { followChildLogLines } from '../../helpers/child-log-lines.js';
import { startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { RawClient } from '../../helpers/raw-client.js';
import { CLI, cleanEnv, startServe, tempDir, writeFile, type ServeProcess } from './cli-process.js';

/**
 * Signals outside the running window of a real `kaizen-proxy serve`: during the start (with an API
 * key it waits for the first policy sync, here one that never answers) and during the drain.
 */
let cp: FakeControlPlane | undefined;
let serve: ServeProcess | undefined;

afterEach(async () => {
  await serve?.stop();
  await cp?.close();
  serve = undefined;
  cp = undefined;
});

/** `serve` with an API key against a control plane whose policy sync hangs: the start waits on it. */
async function startWaitingOnSync(args: readonly string[] = []) {
  cp = await startFakeControlPlane();
  cp.routeWith('/v1/policy', { kind: 'hang' });
  const env = cleanEnv({ KAIZEN_API_KEY: 'kz_test_signals', KAIZEN_API_URL: cp.url, KAIZEN_PROXY_DATA_DIR: tempDir() });
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--admin', 'off', ...args], { env, cwd: tempDir(), stdio: ['ignore', 'pipe', 'pipe'] });
  const log = followChildLogLines(child, 10_000);
  await cp.waitForRequests(1);
  return { child, log };
}

describe('signals during start-up', () => {
  it('SIGHUP is ignored with a log line; SIGTERM then stops the start cleanly: exit 0, never listening', async () => {
    const { child, log } = await startWaitingOnSync();
    child.kill('SIGHUP');
    await log.waitFor((line) => line['msg'] === 'SIGHUP ignored: the proxy is still starting');
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await log.exited).toBe(0);
    expect(log.lines).toContainEqual(expect.objectContaining({ msg: 'shutdown requested during start-up: stopping the start', signal: 'SIGTERM' }));
    expect(log.lines.map((line) => line['msg'])).toContain('stopped');
    expect(log.lines.map((line) => line['msg'])).not.toContain('listening');
    expect(log.stderr()).toBe('');
  });

  it('SIGTERM abandons the policy fetch in flight: exit 0 long before the fetch deadline, no sync failure logged', async () => {
    // control_plane.timeout 30s makes the first sync's deadline 30 s (above its 5 s floor).
    const deadlineMs = 30_000;
    const config = writeFile(tempDir(), 'slow-sync.yaml', 'control_plane: { timeout: 30s }\n');
    const { child, log } = await startWaitingOnSync(['--config', config]);
    const signalledAt = performance.now();
    child.kill('SIGTERM');
    const code = await log.exited;
    const tookMs = performance.now() - signalledAt;
    expect(code).toBe(0);
    // Waiting on the fetch would take the whole deadline; a tenth of it leaves room for a loaded machine.
    expect(tookMs).toBeLessThan(deadlineMs / 10);
    expect(log.lines.map((line) => line['msg'])).toContain('stopped');
    expect(log.lines.filter((line) => line['component'] === 'policy_sync' && line['level'] === 'error')).toEqual([]);
    expect(log.stderr()).toBe('');
  });

  it('SIGINT stops the start the same way', async () => {
    const { child, log } = await startWaitingOnSync();
    child.kill('SIGINT');
    expect(await log.exited).toBe(0);
    expect(log.lines).toContainEqual(expect.objectContaining({ msg: 'shutdown requested during start-up: stopping the start', signal: 'SIGINT' }));
    expect(log.lines.map((line) => line['msg'])).not.toContain('listening');
  });
});

describe('SIGHUP during the drain', () => {
  it('is ignored with a log line, and the request in flight completes', async () => {
    let held: ServerResponse | undefined;
    let arrived: () => void = () => undefined;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const origin = createServer((_req, res) => {
      held = res;
      arrived();
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const port = (origin.address() as AddressInfo).port;
    try {
      serve = await startServe(['--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '127.0.0.0/8']);
      const client = await RawClient.open(serve.port);
      client.write(`GET http://127.0.0.1:${String(port)}/held HTTP/1.1\r\nHost: 127.0.0.1:${String(port)}\r\n\r\n`);
      await requestArrived;

      const child = serve.child;
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await serve.waitFor((line) => line['msg'] === 'draining');
      child.kill('SIGHUP');
      await serve.waitFor((line) => line['msg'] === 'SIGHUP ignored: the proxy is shutting down');
      held?.end('done');
      const response = await client.readResponse();
      expect(response.status).toBe(200);
      client.destroy();
      expect(await exited).toBe(0);
    } finally {
      await new Promise<void>((resolve) => origin.close(() => { resolve(); }));
    }
  });
});

describe('SIGUSR1', () => {
  // Node 20 opens an unauthenticated inspector on SIGUSR1 unless it has a listener: anything running
  // as the proxy's user could then run code inside the process that enforces its policy.
  it('never opens the inspector: logged, and the proxy goes on serving', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--admin', 'off'], { env: cleanEnv(), cwd: tempDir(), stdio: ['ignore', 'pipe', 'pipe'] });
    const log = followChildLogLines(child, 10_000);
    const listening = await log.waitFor((line) => line['msg'] === 'listening');
    child.kill('SIGUSR1');
    await log.waitFor((line) => line['msg'] === "SIGUSR1 ignored: Node's inspector stays closed in the proxy");
    const client = await RawClient.open(Number(String(listening['proxy']).split(':').pop()));
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await client.readResponse()).status).toBe(400);
    client.destroy();
    child.kill('SIGTERM');
    expect(await log.exited).toBe(0);
    expect(log.stderr()).not.toContain('Debugger listening');
    expect(log.stderr()).toBe('');
  });
});

