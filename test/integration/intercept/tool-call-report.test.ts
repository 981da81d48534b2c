import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { createLogger } from '../../../src/observe/logger.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';

const run = promisify(execFile);

/**
 * The whole pipeline from a configuration file: intercept.hosts and a tool route make an HTTPS
 * POST an egress tool call, which reaches the control plane in exactly the shape of Kaizen's own
 * API example.
 */
describe('an intercepted route reported as a tool_call', () => {
  let dir: string;
  let caFile: string;
  let originCa: TestCa;
  let origin: Origin;
  let controlPlane: FakeControlPlane;
  let proxy: KaizenProxy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-tool-call-'));
    caFile = (await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test CA', days: 2, force: false })).certFile;
    originCa = await createTestCa();
    origin = await startOrigin({ tls: originCa });
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
        '  - {match: "POST localhost/v1/refunds", tool: issue_refund, publisher: stripe}',
        '  - {match: "GET localhost/v1/customers/*", tool: read_customer}',
      ].join('\n'),
    );
    const loaded = loadConfig({ flags: { config: file }, env: { KAIZEN_API_KEY: 'kz_test_tool_call' } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'silent', destination: new CapturedLogs() }) });
  });

  interface ReportedAction {
    readonly kind: string;
    readonly tool?: string;
    readonly metadata: { readonly path?: string };
  }

  function reportedActions(): ReportedAction[] {
    return controlPlane.requests.flatMap((request) => {
      const action = (request.body as { action?: ReportedAction } | undefined)?.action;
      return action === undefined ? [] : [action];
    });
  }

  afterAll(async () => {
    await proxy.close();
    await controlPlane.close();
    await origin.close();
    await originCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('POST /v1/refunds → {kind: tool_call, tool: issue_refund, target, publisher: stripe, metadata: {source: egress, ...}}', async () => {
    const proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
    const { stdout } = await run('curl', ['-sS', '--fail', '--cacert', caFile, '-x', proxyUrl, '-d', 'charge=ch_1', `https://localhost:${origin.port}/v1/refunds?expand=secret`]);
    expect(JSON.parse(stdout)).toMatchObject({ method: 'POST', url: '/v1/refunds?expand=secret' });
    const toolCall = reportedActions().find((action) => action.kind === 'tool_call');
    // The control plane's own example, field for field (metadata also carries the event id and time).
    expect(toolCall).toMatchObject({
      kind: 'tool_call',
      tool: 'issue_refund',
      target: `localhost:${origin.port}`,
      publisher: 'stripe',
      metadata: { source: 'egress', method: 'POST', path: '/v1/refunds', scheme: 'https' },
    });
    expect(Object.keys(toolCall ?? {}).sort()).toEqual(['kind', 'metadata', 'publisher', 'target', 'tool']);
    expect(controlPlane.requests.map((request) => request.rawBody).join('\n')).not.toContain('secret');
  });

  it('a path glob route: GET /v1/customers/cus_42 is read_customer, one segment deeper is not', async () => {
    const proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
    await run('curl', ['-sS', '--fail', '--cacert', caFile, '-x', proxyUrl, `https://localhost:${origin.port}/v1/customers/cus_42`]);
    await run('curl', ['-sS', '--fail', '--cacert', caFile, '-x', proxyUrl, `https://localhost:${origin.port}/v1/customers/cus_42/sources`]);
    const actions = reportedActions();
    expect(actions.find((action) => action.metadata.path === '/v1/customers/cus_42')).toMatchObject({ kind: 'tool_call', tool: 'read_customer' });
    // One segment only: /sources is no longer the route, so it is an http action of its own.
    expect(actions.find((action) => action.metadata.path === '/v1/customers/cus_42/sources')).toMatchObject({ kind: 'http' });
  });
});
