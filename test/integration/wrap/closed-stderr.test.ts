import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from './run-wrapper.js';

/**
 * The wrapper's stderr closed under it (`2> >(head -c 20)`, a log shipper that went away): its
 * block notices meet EPIPE, and it must go on supervising and exit with the child's code.
 */
describe('wrap mode with a closed stderr', () => {
  it("keeps supervising after EPIPE on stderr and exits with the child's code", async () => {
    const blocked = (path: string): string => `curl -s -o /dev/null http://169.254.169.254/${path}`;
    // The child makes one blocked request, waits for the test to close stderr, then makes two more.
    const script = `${blocked('a')}; read go; ${blocked('b')}; ${blocked('c')}; exit 7`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'NODE_OPTIONS', 'LOG_LEVEL']) {
      env[name] = undefined;
    }
    const wrapper = spawn(process.execPath, [CLI, '--', 'sh', '-c', script], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      wrapper.on('error', reject);
      wrapper.on('exit', (code, signal) => {
        resolve({ code, signal });
      });
    });
    const first = await new Promise<string>((resolve) => {
      wrapper.stderr.once('data', (chunk: Buffer) => {
        resolve(chunk.toString('utf8'));
      });
    });
    expect(first).toContain('kaizen-proxy: blocked http 169.254.169.254:80');
    // Close the only reader of the wrapper's stderr, then let the child go on.
    wrapper.stderr.destroy();
    wrapper.stdin.end('go\n');
    expect(await exited).toEqual({ code: 7, signal: null });
  });
});
