import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startServe, tempDir, writeFile, type ServeProcess } from '../reflex/cli-process.js';

/**
 * An IPv6 range in allow_private opens IPv6 destinations only. `::/0` (like ::/64, ::/80) covers
 * ::ffff:0:0/96, and an IPv4 destination used to be matched as ::ffff:a.b.c.d, so
 * `--allow-private ::/0` let CONNECT 127.0.0.1, 10.0.0.1 and 169.254.169.254 through. Nor does it
 * open the IPv4 an IPv6 destination carries (IPv4-mapped, NAT64...): that still needs its IPv4
 * range. An explicit IPv4-mapped range (inside ::ffff:0:0/96) does name IPv4 destinations.
 * The real CLI, raw CONNECTs and curl; an origin on 127.0.0.1 and one on ::1.
 */
const run = promisify(execFile);

let v4: Origin;
let v6: Origin;

beforeAll(async () => {
  v4 = await startOrigin();
  v6 = await startOrigin({ host: '::1' });
});

afterAll(async () => {
  await v4.close();
  await v6.close();
});

/** A proxy with `--allow-private` for each range; a dial the guard wrongly lets through is bounded. */
function serveOpening(ranges: readonly string[]): Promise<ServeProcess> {
  const config = writeFile(tempDir(), 'kaizen-proxy.yaml', 'network: { connect_timeout: 1s }\n');
  return startServe(['--config', config, '--listen', '127.0.0.1:0', '--admin', 'off', ...ranges.flatMap((range) => ['--allow-private', range])]);
}

interface Outcome {
  readonly status: number;
  /** The refusal's error code and reason; for a tunnel, the origin's answer to a GET through it. */
  readonly error?: string;
  readonly reason?: string;
  readonly through?: number;
}

async function connectThrough(proxy: ServeProcess, target: string): Promise<Outcome> {
  const client = await RawClient.open(proxy.port);
  try {
    client.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    const answer = await client.readResponse({ bodiless: true });
    if (answer.status !== 200) {
      const body = (await client.readToEnd()).trim();
      const error = body.startsWith('{') ? String((JSON.parse(body) as { error?: unknown }).error) : answer.headers['x-kaizen-error'] ?? '';
      return { status: answer.status, error, reason: answer.headers['x-kaizen-reason'] ?? '' };
    }
    client.write(`GET /through HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`);
    return { status: 200, through: (await client.readResponse()).status };
  } finally {
    client.destroy();
  }
}

function guardRefusal(address: string, description: string): Outcome {
  return { status: 403, error: 'KZP_ERR_GUARD', reason: `destination ${address} is ${description}` };
}

describe('--allow-private ::/0', () => {
  let proxy: ServeProcess;

  beforeAll(async () => {
    proxy = await serveOpening(['::/0']);
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it('CONNECT to an IPv4 loopback, private or metadata address is refused by the guard; the origin sees nothing', async () => {
    const before = v4.connections;
    expect(await connectThrough(proxy, `127.0.0.1:${v4.port}`)).toEqual(guardRefusal('127.0.0.1', 'a loopback address'));
    expect(await connectThrough(proxy, '10.0.0.1:80')).toEqual(guardRefusal('10.0.0.1', 'a private network address'));
    expect(await connectThrough(proxy, '169.254.169.254:80')).toEqual(guardRefusal('169.254.169.254', 'a cloud metadata address'));
    expect(v4.connections).toBe(before);
  });

  it('CONNECT to an IPv6 address carrying 127.0.0.1 is refused too: its IPv4 range is not opened', async () => {
    const before = v4.connections;
    expect(await connectThrough(proxy, `[::ffff:127.0.0.1]:${v4.port}`)).toEqual(guardRefusal('::ffff:127.0.0.1', 'a loopback address'));
    expect(await connectThrough(proxy, `[64:ff9b::7f00:1]:${v4.port}`)).toEqual(guardRefusal('64:ff9b::7f00:1', 'a loopback address (embedded IPv4 127.0.0.1)'));
    expect(v4.connections).toBe(before);
  });

  it('plain HTTP to 127.0.0.1 through curl: 403 from the guard', async () => {
    const before = v4.connections;
    const { stdout } = await run('curl', ['-sS', '--noproxy', '', '-x', `http://127.0.0.1:${proxy.port}`, '-o', '/dev/null', '-D', '-', '-w', '%{http_code}', `http://127.0.0.1:${v4.port}/`]);
    expect(stdout.endsWith('403')).toBe(true);
    expect(stdout).toMatch(/x-kaizen-reason: destination 127\.0\.0\.1 is a loopback address/i);
    expect(v4.connections).toBe(before);
  });

  it('CONNECT [::1] reaches the origin listening on ::1', async () => {
    expect(await connectThrough(proxy, `[::1]:${v6.port}`)).toEqual({ status: 200, through: 200 });
    expect(v6.requests.at(-1)?.url).toBe('/through');
  });
});

describe('--allow-private ::ffff:127.0.0.0/104 (an IPv4-mapped range)', () => {
  let proxy: ServeProcess;

  beforeAll(async () => {
    proxy = await serveOpening(['::ffff:127.0.0.0/104']);
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it('opens 127.0.0.0/8 in either spelling, and not ::1', async () => {
    expect(await connectThrough(proxy, `127.0.0.1:${v4.port}`)).toEqual({ status: 200, through: 200 });
    expect(await connectThrough(proxy, `[::ffff:127.0.0.1]:${v4.port}`)).toEqual({ status: 200, through: 200 });
    expect(await connectThrough(proxy, `[::1]:${v6.port}`)).toEqual(guardRefusal('::1', 'a loopback address'));
  });
});
