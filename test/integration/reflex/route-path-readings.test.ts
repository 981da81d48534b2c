import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KaizenProxy } from '../../../src/app/create-proxy.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { curl, startProxyFromLines, type Answer } from './loopback-rule-proxy.js';

/**
 * A tool route is matched on the path as the origin may serve it, not only as it was spelt:
 * WSGI and ASGI servers and nginx decode `%2F` to a slash, WHATWG URL and Node's url.parse read a
 * backslash as one, Tomcat and Spring drop `;` parameters. An agent whose `issue_refund` is blocked
 * by a skill pattern must not reach the refunds endpoint of such an origin as an untooled request.
 */
describe('tool routes judge every reading of a request path', () => {
  let origin: Origin;
  let proxy: KaizenProxy;

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxyFromLines([
      'network: { allow_private: [127.0.0.0/8] }',
      'tools:',
      '  - {match: "POST 127.0.0.1/v1/refunds", tool: issue_refund}',
      '  - {match: "GET 127.0.0.1/v1/customers/*", tool: read_customer}',
      '  - {match: "PUT 127.0.0.1/files/*/acl", tool: set_acl}',
      '  - {match: "PUT 127.0.0.1/files/*", tool: write_file}',
      'policies:',
      '  - name: no-money-no-acl',
      '    mode: blocklist',
      '    rules: { skill_patterns: ["issue_refund|set_acl"] }',
    ]);
  });

  afterAll(async () => {
    await proxy.close();
    await origin.close();
  });

  /** curl --path-as-is: the path goes out byte for byte, as an agent that means it would send it. */
  function send(method: string, path: string): Promise<Answer> {
    return curl(proxy, `${origin.url}${path}`, ['--path-as-is', '-X', method, '-d', 'amount=100']);
  }

  it('refuses a blocked tool spelt with %2F, a backslash or ; parameters, the origin never asked', async () => {
    const before = origin.requests.length;
    for (const path of ['/v1%2Frefunds', '/v1%2frefunds', '/v1\\refunds', '/v1/refunds;jsessionid=1', '/v1/x/..;/refunds', '/v1/refunds%2F']) {
      const answer = await send('POST', path);
      expect(answer.status, path).toBe('403');
      expect(answer.headers, path).toMatch(/x-kaizen-decision: block/i);
      expect(answer.headers, path).toMatch(/skill_patterns/);
    }
    expect(origin.requests.slice(before).map((request) => request.url)).toEqual([]);
  });

  it('refuses a blocked tool behind a leading //host, which WHATWG URL takes for an authority', async () => {
    // new URL(req.url, base), as Node's documentation shows handlers, reads //x/v1/refunds as host x, path /v1/refunds.
    const before = origin.requests.length;
    for (const path of ['//x/v1/refunds', '/\\x/v1/refunds', '///v1/v1/refunds', '//x/v1%2Frefunds']) {
      const answer = await send('POST', path);
      expect(answer.status, path).toBe('403');
      expect(answer.headers, path).toMatch(/skill_patterns/);
    }
    expect(origin.requests.slice(before).map((request) => request.url)).toEqual([]);
  });

  it('refuses a path whose two readings are two different tools, as a bad request', async () => {
    // As sent, one segment under /files/ (write_file); decoded, /files/a/acl (set_acl, blocked).
    const before = origin.requests.length;
    const answer = await send('PUT', '/files/a%2Facl');
    expect(answer.status).toBe('400');
    expect(answer.headers).toMatch(/x-kaizen-error: KZP_ERR_BAD_REQUEST/i);
    expect(origin.requests.slice(before).map((request) => request.url)).toEqual([]);
  });

  it('still forwards a path only one reading maps, as the tool of that reading', async () => {
    // GitLab-style ids: /v1/customers/a%2Fb is read_customer as sent, and no route decoded.
    const before = origin.requests.length;
    expect((await send('GET', '/v1/customers/a%2Fb')).status).toBe('200');
    expect((await send('PUT', '/files/report.txt;v=2')).status).toBe('200');
    expect((await send('GET', '//x/v1/customers/c1')).status).toBe('200');
    expect(origin.requests.slice(before).map((request) => request.url)).toEqual(['/v1/customers/a%2Fb', '/files/report.txt;v=2', '//x/v1/customers/c1']);
  });
});
