import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createLogger } from '../../../src/observe/logger.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { sendRaw } from '../../helpers/raw-client.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';

const run = promisify(execFile);

interface ReportedAction {
  readonly kind: string;
  readonly tool?: string;
  readonly target: string;
  readonly metadata: { readonly method?: string; readonly path?: string };
}

interface CurlAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * A request's method-override (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, a
 * `_method` query parameter) is the method an origin that honours it executes: the tool route is
 * matched with it (and with the request line's method, for origins that do not), the action
 * records it, and a local policy blocking the overriding method's tool refuses the request,
 * intercepted or plain, through the fast lane, node:http and an upgrade alike.
 */
describe('method-override headers decide the tool and the recorded method', () => {
  let dir: string;
  let caFile: string;
  let originCa: TestCa;
  let tlsOrigin: Origin;
  let plainOrigin: Origin;
  let controlPlane: FakeControlPlane;
  let proxy: KaizenProxy;
  let proxyUrl: string;
  const logs = new CapturedLogs();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-method-override-'));
    caFile = (await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test CA', days: 2, force: false })).certFile;
    originCa = await createTestCa();
    tlsOrigin = await startOrigin({ tls: originCa });
    plainOrigin = await startOrigin();
    controlPlane = await startFakeControlPlane();
    const file = join(dir, 'kaizen-proxy.yaml');
    await writeFile(
      file,
      [
        'listen: 127.0.0.1:0',
        'admin: off',
        `control_plane: {url: "${controlPlane.url}"}`,
        'network: {allow_private: [127.0.0.0/8, "::1/128"]}',
        `intercept: {ca_dir: "${join(dir, 'certs')}", hosts: [localhost], upstream_ca: "${originCa.caFile}"}`,
        'tools:',
        '  - {match: "GET|DELETE localhost/v1/customers/*", tool: manage_customer}',
        '  - {match: "POST localhost/v1/refunds", tool: issue_refund}',
        '  - {match: "POST localhost/v1/charges/*", tool: create_charge}',
        '  - {match: "DELETE localhost/v1/charges/*", tool: void_charge}',
        'policies:',
        '  - {name: no-destructive-tools, mode: blocklist, rules: {skill_patterns: [manage_customer, issue_refund, void_charge]}}',
      ].join('\n'),
    );
    const loaded = loadConfig({ flags: { config: file }, env: { KAIZEN_API_KEY: 'kz_test_method_override' } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: logs }) });
    proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
  });

  afterAll(async () => {
    await proxy.close();
    await controlPlane.close();
    await tlsOrigin.close();
    await plainOrigin.close();
    await originCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  function reportedActions(): ReportedAction[] {
    return controlPlane.requests.flatMap((request) => {
      const action = (request.body as { action?: ReportedAction } | undefined)?.action;
      return action === undefined ? [] : [action];
    });
  }

  /** curl through the proxy: the final answer's status, headers (lower-cased names) and body. */
  async function curl(...args: string[]): Promise<CurlAnswer> {
    const { stdout } = await run('curl', ['-sS', '--cacert', caFile, '-x', proxyUrl, '-D', '-', ...args]);
    const split = stdout.lastIndexOf('\r\n\r\n');
    const lines = stdout.slice(0, split).split('\r\n');
    const statusLine = lines.filter((line) => line.startsWith('HTTP/')).pop() ?? '';
    const headers: Record<string, string> = {};
    for (const line of lines.slice(lines.lastIndexOf(statusLine) + 1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status: Number(statusLine.split(' ')[1]), headers, body: stdout.slice(split + 4) };
  }

  it('intercepted: POST with X-HTTP-Method-Override: DELETE is the DELETE route\'s tool, refused by the policy on it', async () => {
    const answer = await curl('-X', 'POST', '-H', 'X-HTTP-Method-Override: DELETE', `https://localhost:${tlsOrigin.port}/v1/customers/cus_1`);
    expect(answer.status).toBe(403);
    expect(answer.headers['x-kaizen-decision']).toBe('block');
    expect(answer.body).toContain('no-destructive-tools');
    expect(tlsOrigin.requests.some((request) => request.url === '/v1/customers/cus_1')).toBe(false);
  });

  it('plain http://, fast lane and node:http (a body), each header name in any case, and ?_method=', async () => {
    const url = `http://localhost:${plainOrigin.port}/v1/customers/cus_2`;
    const answers = [
      await curl('-X', 'POST', '-H', 'X-HTTP-Method-Override: DELETE', url),
      await curl('-d', 'a=1', '-H', 'x-http-method: delete', url),
      await curl('-X', 'PUT', '-H', 'X-METHOD-OVERRIDE: Delete', url),
      await curl('-X', 'POST', `${url}?_method=DELETE&token=sekrit`),
      await curl('-X', 'POST', `${url}?%5Fmethod=delete`),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403]);
    expect(plainOrigin.requests.some((request) => request.url.startsWith('/v1/customers/cus_2'))).toBe(false);
    // The query decides but is never reported or logged.
    await controlPlane.waitForRequest((request) => request.rawBody.includes('cus_2') && request.rawBody.includes('"block"'));
    expect(controlPlane.requests.map((request) => request.rawBody).join('\n')).not.toContain('sekrit');
    expect(logs.text).not.toContain('sekrit');
  });

  it('an origin that ignores the override executes the request line: POST /v1/refunds is still issue_refund', async () => {
    const answer = await curl('-X', 'POST', '-H', 'X-HTTP-Method-Override: GET', `http://localhost:${plainOrigin.port}/v1/refunds`);
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('issue_refund');
  });

  it('the action records the overriding method; the header goes upstream unchanged', async () => {
    // An origin of its own: no verdict cached for its target, so the action reaches the control plane.
    const origin = await startOrigin({ tls: originCa });
    try {
      const answer = await curl('-X', 'POST', '-H', 'X-Method-Override: patch', `https://localhost:${origin.port}/v1/widgets/w_1`);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ method: 'POST', headers: { 'x-method-override': 'patch' } });
      const action = reportedActions().find((reported) => reported.metadata.path === '/v1/widgets/w_1');
      expect(action).toMatchObject({ kind: 'http', metadata: { method: 'PATCH', path: '/v1/widgets/w_1', scheme: 'https' } });
    } finally {
      await origin.close();
    }
  });

  it('a cached allow for POST does not answer the overridden DELETE', async () => {
    const origin = await startOrigin();
    try {
      const url = `http://localhost:${origin.port}/v1/items/i_1`;
      controlPlane.respondWith(reply.allow());
      expect((await curl('-X', 'POST', url)).status).toBe(200);
      controlPlane.respondWith(reply.block());
      const answer = await curl('-X', 'POST', '-H', 'X-HTTP-Method-Override: DELETE', url);
      expect(answer.status).toBe(403);
      expect(answer.headers['x-kaizen-decision']).toBe('block');
      expect(reportedActions().filter((action) => action.target === `localhost:${origin.port}`).map((action) => action.metadata.method)).toEqual(['POST', 'DELETE']);
    } finally {
      controlPlane.respondWith(reply.allow());
      await origin.close();
    }
  });

  it('ambiguous: two override fields, a value that is not a method, or two methods naming two tools, are 400', async () => {
    const url = `http://localhost:${plainOrigin.port}/v1/charges/ch_1`;
    const answers = [
      await curl('-X', 'POST', '-H', 'X-HTTP-Method-Override: DELETE', '-H', 'X-HTTP-Method-Override: DELETE', url),
      await curl('-X', 'POST', '-H', 'X-HTTP-Method: DELETE', `${url}?_method=DELETE`),
      await curl('-X', 'POST', '-H', 'X-HTTP-Method-Override: DELETE, GET', url),
      await curl('-X', 'POST', '-H', 'X-HTTP-Method-Override: DELETE', url),
      await curl('-X', 'POST', '-H', 'X-HTTP-Method-Override: DELETE', `https://localhost:${tlsOrigin.port}/v1/charges/ch_1`),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
    }
    expect(answers[3]?.body).toContain('overriding method');
    expect(plainOrigin.requests.some((request) => request.url.startsWith('/v1/charges'))).toBe(false);
  });

  it('a WebSocket upgrade carrying an override is judged as the overriding method too', async () => {
    const host = `localhost:${plainOrigin.port}`;
    const answer = await sendRaw(
      proxy.address.port,
      `GET http://${host}/v1/charges/ch_2 HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-HTTP-Method-Override: DELETE\r\n\r\n',
    );
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('void_charge');
  });
});
