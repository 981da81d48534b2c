import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInterception, type Interception } from '../../helpers/interception.js';
import { startLenientOrigin, type LenientOrigin } from '../../helpers/lenient-origin.js';
import type { LogLine } from '../../helpers/start-proxy.js';
import { receivedUntilClose } from '../../helpers/socket-end.js';
import { exchange, openTunnel } from './tunnel-client.js';

/**
 * Python's http.server reads a request line up to its LF and splits it on any whitespace, a CR
 * within it included, and serves (here) any method. A first line with a CR in it, or one whose CR
 * came without its LF yet, is therefore still HTTP for the interception: refused by its parser,
 * never spliced for the origin to serve it, and every request after it, undecided.
 */
describe('interception: a CR within the first line of a flight', () => {
  let interception: Interception;
  let origin: LenientOrigin;

  beforeAll(async () => {
    interception = await startInterception();
    origin = await startLenientOrigin();
  });

  afterAll(async () => {
    await origin.close();
    await interception.close();
  });

  function sessionClosed(target: string): Promise<LogLine> {
    return interception.proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'connect' && line['target'] === target);
  }

  it('a CR between the method and the target: the interception refuses the request', async () => {
    const target = `cr-between.stripe.com:${String(origin.port)}`;
    const client = await openTunnel(interception.proxy.port, target);
    client.resume();
    const answer = await exchange(client, `GET\r/ HTTP/1.0\r\nHost: ${target}\r\n\r\n`);
    expect(answer.status).toBe(400);
    client.destroy();
    expect((await sessionClosed(target))['intercept_skipped']).toBeUndefined();
    expect(origin.lines()).toEqual([]);
  });

  it('a first line written up to its CR, its LF to come: undecided until then, never spliced', async () => {
    const target = `cr-split.stripe.com:${String(origin.port)}`;
    const client = await openTunnel(interception.proxy.port, target);
    const received = receivedUntilClose(client);
    // Were the tunnel spliced, the origin would accept it and the client go on with its requests.
    void origin.nextAccepted().then(() => client.write(`\nHost: ${target}\r\n\r\nFOO /second HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    client.write('FOO /first HTTP/1.1\r');
    // The proxy holds the line: with nothing more within its first-flight wait, it takes it for
    // HTTP, and its parser refuses it.
    expect((await received).toString('latin1', 0, 12)).toBe('HTTP/1.1 400');
    client.destroy();
    expect((await sessionClosed(target))['intercept_skipped']).toBeUndefined();
    expect(origin.lines()).toEqual([]);
  });
});
