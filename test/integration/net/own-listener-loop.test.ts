import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, type RawResponse } from '../../helpers/raw-client.js';
import { startServe, type ServeProcess } from '../reflex/cli-process.js';

/** One CONNECT with the client's request right behind it, and what the proxy made of both. */
interface Attempt {
  readonly status: number;
  readonly reason: string | undefined;
  /** The kind of each decision logged from this CONNECT on, once the CONNECT's closing line is in. */
  readonly decided: readonly unknown[];
}

async function connectThrough(proxy: ServeProcess, host: string, target: string): Promise<Attempt> {
  const from = proxy.lines.length;
  const client = await RawClient.open(proxy.port, host);
  let response: RawResponse;
  try {
    client.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\nGET http://127.0.0.1:9/ HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n`);
    response = await client.readResponse();
  } finally {
    client.destroy();
  }
  await proxy.waitFor((line) => line['msg'] === 'closed' && line['kind'] === 'connect' && proxy.lines.indexOf(line) >= from);
  const decided = proxy.lines.slice(from).filter((line) => line['msg'] === 'decision').map((line) => line['kind']);
  return { status: response.status, reason: response.headers['x-kaizen-reason'], decided };
}

/**
 * The proxy never dials itself, even with every range opened by allow_private. Linux delivers a
 * connect() to the unspecified address to loopback (0.0.0.0 to 127.0.0.1, :: to ::1), so a
 * CONNECT to 0.0.0.0:P reached a proxy listening on 127.0.0.1:P: a tunnel to itself, and every
 * request inside it decided again. The client sends its request right behind the CONNECT, as a
 * client that does not wait would: had the tunnel opened, that request would show up as a decision
 * of kind http.
 */
describe('a proxy on 127.0.0.1 with allow_private opened wide', () => {
  let proxy: ServeProcess;

  beforeAll(async () => {
    proxy = await startServe(['--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '0.0.0.0/0', '--allow-private', '::/0']);
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it('refuses CONNECT to 0.0.0.0:PORT in each spelling as itself, opening no tunnel; [::]:PORT is not itself', async () => {
    const port = String(proxy.port);
    for (const [host, shown] of [['0.0.0.0', '0.0.0.0'], ['0', '0.0.0.0'], ['[::ffff:0.0.0.0]', '::ffff:0.0.0.0']] as const) {
      expect(await connectThrough(proxy, '127.0.0.1', `${host}:${port}`), host).toEqual({
        status: 403,
        reason: `destination ${shown} port ${port} is the proxy itself`,
        decided: ['connect'],
      });
    }
    // Linux sends [::] to ::1, where nothing of ours listens: dialled, and refused by the kernel.
    expect(await connectThrough(proxy, '127.0.0.1', `[::]:${port}`)).toMatchObject({ status: 502, decided: ['connect'] });
  });
});

describe('a proxy on ::1 with allow_private opened wide', () => {
  let proxy: ServeProcess;

  beforeAll(async () => {
    proxy = await startServe(['--listen', '[::1]:0', '--admin', 'off', '--allow-private', '0.0.0.0/0', '--allow-private', '::/0']);
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it('refuses CONNECT [::]:PORT as itself, opening no tunnel; 0.0.0.0:PORT is not itself', async () => {
    const port = String(proxy.port);
    expect(await connectThrough(proxy, '::1', `[::]:${port}`)).toEqual({
      status: 403,
      reason: `destination :: port ${port} is the proxy itself`,
      decided: ['connect'],
    });
    // Linux sends 0.0.0.0 to 127.0.0.1, where nothing of ours listens: dialled, and refused by the kernel.
    expect(await connectThrough(proxy, '::1', `0.0.0.0:${port}`)).toMatchObject({ status: 502, decided: ['connect'] });
  });
});
