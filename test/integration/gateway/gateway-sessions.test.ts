import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { RawClient, type RawResponse } from '../../helpers/raw-client.js';
import type { LogLine } from '../../helpers/start-proxy.js';
import { exchange, openTunnel } from '../intercept/tunnel-client.js';
import { ORIGIN_A, TOKENS, useGatewayFixture } from './gateway-fixture.js';

/**
 * A connection authenticated once, at its CONNECT (an intercepted session), outlives no reload:
 * each request in it is a new action, and one whose identity a reload removed, or whose token it
 * changed, is refused (407, Connection: close) as a new connection would be. The identities that
 * stayed keep their sessions. A plain keep-alive connection authenticates every request anyway.
 */
const gateway = useGatewayFixture();

function credentials(agent: string, token = TOKENS[agent] ?? ''): string {
  return `Proxy-Authorization: Basic ${Buffer.from(`${agent}:${token}`).toString('base64')}\r\n`;
}

/** The port of the proxy startIntercepting started. */
let proxyPort = 0;

/** A proxy intercepting ORIGIN_A, with an account whose agents have no synced policies. */
async function startIntercepting(): Promise<void> {
  gateway.cp.routeWith('/v1/policy', reply.policies([]));
  await gateway.configure([await gateway.interception([ORIGIN_A])]);
  proxyPort = (await gateway.start()).address.port;
}

const authority = (): string => `${ORIGIN_A}:${gateway.originPort(ORIGIN_A)}`;

/** An intercepted CONNECT to ORIGIN_A as `agent`, answered 200: requests in it are plain HTTP. */
async function session(agent: string, token?: string): Promise<RawClient> {
  const client = await RawClient.open(proxyPort);
  client.write(`CONNECT ${authority()} HTTP/1.1\r\nHost: ${authority()}\r\n${credentials(agent, token)}\r\n`);
  expect((await client.readResponse()).status).toBe(200);
  return client;
}

function get(client: RawClient, path: string, headers = ''): Promise<RawResponse> {
  client.write(`GET ${path} HTTP/1.1\r\nHost: ${authority()}\r\n${headers}\r\n`);
  return client.readResponse();
}

function expectRefusedAndClosed(response: RawResponse): void {
  expect(response.status).toBe(407);
  expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_PROXY_AUTH');
  expect(response.headers['connection']).toBe('close');
}

describe('gateway identities and connections authenticated at their CONNECT', () => {
  it('an identity removed by a reload is refused on the next request of its open intercepted session; one that stayed is not', async () => {
    await startIntercepting();
    const billing = await session('billing-bot');
    const ops = await session('ops-bot');
    expect((await get(billing, '/before')).status).toBe(200);
    expect((await get(ops, '/before')).status).toBe(200);

    await gateway.writeCredentials(['ops-bot']);
    expect(gateway.reload()).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });

    expectRefusedAndClosed(await get(billing, '/after'));
    await billing.closed;
    expect((await get(ops, '/after')).status).toBe(200);
    expect(gateway.originRequests(ORIGIN_A)).toEqual(['GET /before', 'GET /before', 'GET /after']);
    // The refusal is logged as billing-bot's, and no action of billing-bot's was decided after the reload.
    const refused = await gateway.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'http' && line['status'] === 407);
    expect(refused).toMatchObject({ code: 'KZP_ERR_PROXY_AUTH', target: authority() });
    const decided = gateway.logs.lines.filter((line) => line.msg === 'decision' && line['kind'] === 'http').map((line) => line['agent']);
    expect(decided).toEqual(['billing-bot', 'ops-bot', 'ops-bot']);
    ops.destroy();
  });

  it('a TLS session whose first request meets its removed identity is refused 407, not taken for a client that distrusts the CA', async () => {
    await startIntercepting();
    const ca = await gateway.caPem();
    const socket = await openTunnel(proxyPort, authority(), credentials('billing-bot'));
    // No SNI for an address: the certificate is checked against ORIGIN_A itself.
    const tls = await new Promise<TLSSocket>((resolve, reject) => {
      const secured = tlsConnect({ socket, host: ORIGIN_A, ca, ALPNProtocols: ['http/1.1'] });
      secured.once('secureConnect', () => {
        resolve(secured);
      });
      secured.once('error', reject);
    });
    await gateway.writeCredentials(['ops-bot']);
    expect(gateway.reload()).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });

    // The client trusted the certificate and spoke: its first request is refused for who it is.
    const answer = await exchange(tls, `GET /first HTTP/1.1\r\nHost: ${authority()}\r\n\r\n`);
    expect(answer.status).toBe(407);
    expect(answer.head).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_PROXY_AUTH\r\n/i);
    const closed = await gateway.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'connect');
    expect(closed).toMatchObject({ status: 200, target: authority() });
    expect(closed['code']).toBeUndefined();
    // The host's one CA-trust warning is left for a client that really does not trust the CA.
    expect(gateway.logs.lines.filter((line) => line['code'] === 'KZP_ERR_INTERCEPT_TLS')).toEqual([]);
    expect(gateway.originRequests(ORIGIN_A)).toEqual([]);
  });

  it("an identity whose token a reload changed is refused inside its open session; the new token opens a new one", async () => {
    await startIntercepting();
    const billing = await session('billing-bot');
    expect((await get(billing, '/before')).status).toBe(200);

    await gateway.writeCredentials(['ops-bot', 'billing-bot'], { 'billing-bot': 'rotated-token' });
    expect(gateway.reload()).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });

    expectRefusedAndClosed(await get(billing, '/after'));
    await billing.closed;
    const renewed = await session('billing-bot', 'rotated-token');
    expect((await get(renewed, '/renewed')).status).toBe(200);
    expect(gateway.originRequests(ORIGIN_A)).toEqual(['GET /before', 'GET /renewed']);
    renewed.destroy();
  });

  it('a WebSocket upgrade inside the session of an identity removed is refused before any dial', async () => {
    await startIntercepting();
    const billing = await session('billing-bot');
    expect((await get(billing, '/before')).status).toBe(200);

    await gateway.writeCredentials(['ops-bot']);
    expect(gateway.reload()).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });

    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
    expectRefusedAndClosed(await get(billing, '/socket', upgrade));
    await billing.closed;
    expect(gateway.originRequests(ORIGIN_A)).toEqual(['GET /before']);
    expect(await gateway.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade')).toMatchObject({ status: 407, code: 'KZP_ERR_PROXY_AUTH' });
  });

  it('a plain keep-alive connection authenticates each request: the removed identity is refused on it, the connection kept for another', async () => {
    await startIntercepting();
    const client = await RawClient.open(proxyPort);
    const plain = (agent: string, path: string): Promise<RawResponse> => {
      client.write(`GET http://${authority()}${path} HTTP/1.1\r\nHost: ${authority()}\r\n${credentials(agent)}\r\n`);
      return client.readResponse();
    };
    expect((await plain('billing-bot', '/before')).status).toBe(200);

    await gateway.writeCredentials(['ops-bot']);
    expect(gateway.reload()).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });

    const refused = await plain('billing-bot', '/after');
    expect(refused.status).toBe(407);
    expect(refused.headers['proxy-authenticate']).toBe('Basic realm="kaizen-proxy"');
    expect((await plain('ops-bot', '/other')).status).toBe(200);
    expect(gateway.originRequests(ORIGIN_A)).toEqual(['GET /before', 'GET /other']);
    // One connection, two agents: each closed line names its own exchange's (none for the 407).
    const closedLines = (): LogLine[] => gateway.logs.lines.filter((line) => line.msg === 'closed' && line['kind'] === 'http');
    await gateway.logs.waitFor(() => closedLines().length === 3);
    const closed = closedLines();
    expect(new Set(closed.map((line) => line['conn'])).size).toBe(1);
    expect(closed.map((line) => [line['status'], line['agent']])).toEqual([
      [200, 'billing-bot'],
      [407, undefined],
      [200, 'ops-bot'],
    ]);
    client.destroy();
  });
});
