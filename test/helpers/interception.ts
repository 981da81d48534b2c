import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionLabels } from '../../src/action/action-labels.js';
import { interceptedHosts } from '../../src/app/interception-setup.js';
import { initCa } from '../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../src/intercept/ca-load.js';
import { createInterceptor, type CaInterceptor } from '../../src/intercept/interceptor.js';
import { createFakeDecider, type FakeDecider } from './fake-decider.js';
import { startOrigin, type Origin } from './origins.js';
import { startProxy, type StartedProxy, type StartProxyOptions } from './start-proxy.js';
import { createTestCa, type TestCa } from './test-ca.js';

/**
 * A proxy intercepting stripe.com and its subdomains with a CA made by `ca init`, every name
 * resolving to 127.0.0.1; behind it an HTTPS origin posing as api.stripe.com (its own test CA,
 * trusted upstream) and a plain HTTP origin, both recording what reaches them.
 */
export interface Interception {
  /** The interception CA the clients trust (`certFile`, `certPem`). */
  readonly ca: CertificateAuthority;
  /** The CA of the origins' certificate, given to the proxy as intercept.upstream_ca. */
  readonly originCa: TestCa;
  readonly origin: Origin;
  readonly plainOrigin: Origin;
  readonly decider: FakeDecider;
  readonly interceptor: CaInterceptor;
  readonly proxy: StartedProxy;
  /** `api.stripe.com:<origin port>`: the CONNECT target of a session reaching `origin`. */
  readonly target: string;
  close(): Promise<void>;
}

export interface InterceptionOptions {
  /** Tool routes and publishers for the proxy (its default otherwise). */
  readonly labels?: ActionLabels;
  /** The proxy's limits and network settings that differ from the test proxy's (a drain's, a header_timeout). */
  readonly limits?: StartProxyOptions['limits'];
  readonly network?: StartProxyOptions['network'];
}

export async function startInterception(options: InterceptionOptions = {}): Promise<Interception> {
  const dir = await mkdtemp(join(tmpdir(), 'kzp-intercept-'));
  const ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
  const originCa = await createTestCa(['api.stripe.com']);
  const origin = await startOrigin({ tls: originCa });
  const plainOrigin = await startOrigin();
  const decider = createFakeDecider();
  const interceptor = createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) });
  const proxy = await startProxy({
    decider,
    resolve: () => Promise.resolve({ ok: true as const, addresses: ['127.0.0.1'] }),
    upstreamCa: [originCa.caPem],
    interceptor,
    ...(options.labels === undefined ? {} : { labels: options.labels }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.network === undefined ? {} : { network: options.network }),
  });
  return {
    ca,
    originCa,
    origin,
    plainOrigin,
    decider,
    interceptor,
    proxy,
    target: `api.stripe.com:${origin.port}`,
    async close() {
      await proxy.close();
      await origin.close();
      await plainOrigin.close();
      await originCa.remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
