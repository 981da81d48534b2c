import { afterEach, describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { startConnectionAuthOrigin, type ConnectionAuthOrigin } from '../../helpers/connection-auth-origin.js';
import { RawClient, type RawResponse } from '../../helpers/raw-client.js';
import { TOKENS, useGatewayFixture } from './gateway-fixture.js';

/**
 * NTLM and Negotiate authenticate a connection, not a request: a destination connection that
 * carried one agent's handshake is that agent's, kept for the client connection that made it
 * (Squid's connection-auth pinning), never handed to another client or agent from the pool.
 */
const gateway = useGatewayFixture();
const ORIGIN = '127.0.0.4';
let origin: ConnectionAuthOrigin | null = null;

afterEach(async () => {
  await origin?.close();
  origin = null;
});

async function setUp(): Promise<{ port: number; url: string; ntlm: ConnectionAuthOrigin }> {
  gateway.cp.routeWith('/v1/policy', reply.policies([]));
  const proxy = await gateway.start();
  const ntlm = await startConnectionAuthOrigin(ORIGIN);
  origin = ntlm;
  return { port: proxy.address.port, url: `http://${ORIGIN}:${ntlm.port}/`, ntlm };
}

/** One GET through the proxy on `client` as `agent`, with `extra` header lines. */
async function get(client: RawClient, agent: string, url: string, extra = ''): Promise<RawResponse> {
  const auth = Buffer.from(`${agent}:${TOKENS[agent] ?? ''}`).toString('base64');
  client.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nProxy-Authorization: Basic ${auth}\r\n${extra}\r\n`);
  return client.readResponse();
}

/** billing-bot's NTLM handshake on `client`: the origin then serves the connection as billing. */
async function authenticate(client: RawClient, url: string): Promise<RawResponse> {
  expect((await get(client, 'billing-bot', url, 'Authorization: NTLM T1negotiate\r\n')).status).toBe(401);
  return get(client, 'billing-bot', url, 'Authorization: NTLM T3billing\r\n');
}

describe('connection-bound authentication through a gateway', () => {
  it("another agent's request, and the same agent's on another client connection, never ride the authenticated connection", async () => {
    const { port, url } = await setUp();
    const billing = await RawClient.open(port);
    const done = await authenticate(billing, url);
    expect(done.status).toBe(200);
    expect(done.body).toMatch(/ user=billing$/);

    const ops = await RawClient.open(port);
    const other = await get(ops, 'ops-bot', url);
    expect(other.status).toBe(401);
    expect(other.body).toBe('who are you');

    const second = await RawClient.open(port);
    expect((await get(second, 'billing-bot', url)).status).toBe(401);

    // Nor does another agent on the very connection that authenticated.
    expect((await get(billing, 'ops-bot', url)).status).toBe(401);
    for (const client of [billing, ops, second]) client.destroy();
  });

  it('the client connection that authenticated keeps its destination connection, which closes with it', async () => {
    const { port, url, ntlm } = await setUp();
    const billing = await RawClient.open(port);
    const done = await authenticate(billing, url);
    const id = Number(/^conn=(\d+) /.exec(done.body)?.[1]);
    // Later requests without the header are still served on it, as the authenticated user.
    for (let i = 0; i < 3; i++) expect((await get(billing, 'billing-bot', url)).body).toBe(done.body);
    billing.destroy();
    await ntlm.closedConnection(id);
  });
});
