import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dial } from '../../../src/net/dial.js';
import { adoptReads } from '../../../src/net/relay-reads.js';
import { CONNECTION_SLOT, giveSlots, READS_SLOT } from '../../../src/net/socket-slots.js';
import { createLogger } from '../../../src/observe/logger.js';
import { ConnectionRegistry } from '../../../src/proxy/connection-registry.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';

// Every plain TCP socket of the proxy carries the same own fields in the same order
// (src/net/socket-slots.ts), whichever way it was born: a tunnel's client socket (admitted, then
// adopted for relayed reads), the socket dialled for a tunnel (relayable reads), a plain-HTTP
// client socket (admitted only) and an origin connection (dialled, then given an idle timeout).
// One order of added fields is one hidden class in V8, so Node's stream code stays monomorphic.

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A listener and the next socket it accepts. */
async function acceptOne(): Promise<{ port: number; accepted: Promise<Socket> }> {
  const server = createServer();
  servers.push(server);
  const accepted = once(server, 'connection').then(([socket]: Socket[]) => {
    if (socket === undefined) throw new Error('no socket');
    sockets.push(socket);
    return socket;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, accepted };
}

async function dialed(port: number, relayable: boolean): Promise<Socket> {
  const result = await dial(['127.0.0.1'], port, { connectTimeoutMs: 5_000, relayable });
  if (!result.ok) throw new Error(result.code);
  sockets.push(result.socket);
  return result.socket;
}

const ownKeys = (socket: Socket): string[] => Reflect.ownKeys(socket).map(String);

describe('socket slots', () => {
  it('gives sockets born four ways the same fields in the same order', async () => {
    const registry = new ConnectionRegistry(createLogger({ level: 'info', destination: new CapturedLogs() }));
    const listener = await acceptOne();
    const tunnelUpstream = await dialed(listener.port, true);
    const originUpstream = await dialed(listener.port, false);
    originUpstream.setTimeout(30_000);
    originUpstream.setTimeout(0);
    const tunnelClient = await listener.accepted;
    registry.admit(tunnelClient);
    expect(adoptReads(tunnelClient)).toBe(true);
    const second = await acceptOne();
    const httpClient = new Socket();
    sockets.push(httpClient);
    httpClient.connect(second.port, '127.0.0.1');
    const httpAccepted = await second.accepted;
    // As the connection gate does where per-client limits are kept: slots first, then the address.
    giveSlots(httpAccepted);
    expect(httpAccepted.remoteAddress).toBe('127.0.0.1');
    registry.admit(httpAccepted);

    const expected = ownKeys(tunnelClient);
    expect(expected.slice(-2)).toEqual([String(CONNECTION_SLOT), String(READS_SLOT)]);
    expect(expected).toContain('timeout');
    expect(ownKeys(tunnelUpstream)).toEqual(expected);
    expect(ownKeys(originUpstream)).toEqual(expected);
    expect(ownKeys(httpAccepted)).toEqual(expected);
    expect(registry.get(tunnelClient)).not.toBe(registry.get(httpAccepted));
    expect(originUpstream.timeout).toBe(0);
    expect(tunnelUpstream.timeout).toBeUndefined();
  });

  it('leaves a socket that has its slots as it is', async () => {
    const listener = await acceptOne();
    const socket = await dialed(listener.port, true);
    const state = (socket as unknown as Record<symbol, unknown>)[READS_SLOT];
    expect(state).toBeTypeOf('object');
    giveSlots(socket);
    expect((socket as unknown as Record<symbol, unknown>)[READS_SLOT]).toBe(state);
  });
});
