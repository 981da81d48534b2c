import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { exposureIssues } from '../../../src/config/exposure.js';
import { fileSchema, type FileConfig } from '../../../src/config/schema.js';
import { parseCredentialsFile } from '../../../src/gateway/credentials-file.js';

// Structural checks of the shipped manifests. (A Kubernetes JSON-schema package was weighed:
// kubernetes-models 5.1.0 is 25 MB in 27 packages and accepts unknown fields, so the fields that
// matter are checked here by name instead.)

const DIR = fileURLToPath(new URL('../../../config/kubernetes/', import.meta.url));
const PROXY_UID = 1337;

type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Obj) : {});
const list = (value: unknown): Obj[] => (Array.isArray(value) ? value.map(obj) : []);
const at = (value: unknown, ...path: string[]): unknown => path.reduce<unknown>((node, key) => obj(node)[key], value);

function load(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(posix.join(DIR, file), 'utf8'));
  for (const doc of docs) expect(doc.errors, `${file}: YAML errors`).toEqual([]);
  return docs.map((doc) => obj(doc.toJS()));
}

const files = readdirSync(DIR).filter((name) => name.endsWith('.yaml')).sort();

function byKind(docs: Obj[], kind: string): Obj[] {
  return docs.filter((doc) => doc['kind'] === kind);
}

function isProxy(container: Obj): boolean {
  return /^kaizen-proxy:/.test(String(container['image']));
}

interface Pod {
  readonly spec: Obj;
  readonly init: Obj[];
  readonly containers: Obj[];
  readonly proxy: Obj;
  readonly volumes: Obj[];
}

function podOf(deployment: Obj): Pod {
  const spec = obj(at(deployment, 'spec', 'template', 'spec'));
  const init = list(spec['initContainers']);
  const containers = list(spec['containers']);
  const proxy = [...init, ...containers].find(isProxy);
  if (proxy === undefined) throw new Error(`${String(at(deployment, 'metadata', 'name'))}: no kaizen-proxy container`);
  return { spec, init, containers, proxy, volumes: list(spec['volumes']) };
}

/** The proxy's YAML config from the ConfigMap mounted at the directory of its --config file. */
function proxyConfig(docs: Obj[], pod: Pod): FileConfig {
  const args = (pod.proxy['args'] as string[] | undefined) ?? [];
  const path = args[args.indexOf('--config') + 1] ?? '';
  const mount = list(pod.proxy['volumeMounts']).find((m) => String(m['mountPath']) === posix.dirname(path));
  const volume = pod.volumes.find((v) => v['name'] === mount?.['name']);
  const map = byKind(docs, 'ConfigMap').find((doc) => at(doc, 'metadata', 'name') === at(volume, 'configMap', 'name'));
  const text = at(map, 'data', posix.basename(path));
  expect(typeof text, `ConfigMap data for ${path}`).toBe('string');
  const parsed = fileSchema.safeParse(parseAllDocuments(String(text))[0]?.toJS());
  if (!parsed.success) throw new Error(`${path}: ${parsed.error.message}`);
  expect(exposureIssues(parsed.data)).toEqual([]);
  return parsed.data;
}

/** The text a Secret gives a file path mounted from it (stringData or base64 data). */
function secretFile(docs: Obj[], pod: Pod, path: string): string {
  const mount = list(pod.proxy['volumeMounts']).find((m) => String(m['mountPath']) === posix.dirname(path));
  expect(mount, `a volume mounted at ${posix.dirname(path)}`).toBeDefined();
  expect(mount?.['readOnly']).toBe(true);
  const volume = pod.volumes.find((v) => v['name'] === mount?.['name']);
  const secret = byKind(docs, 'Secret').find((doc) => at(doc, 'metadata', 'name') === at(volume, 'secret', 'secretName'));
  expect(secret, `Secret for ${path}`).toBeDefined();
  const key = posix.basename(path);
  const plain = at(secret, 'stringData', key);
  if (typeof plain === 'string') return plain;
  return Buffer.from(String(at(secret, 'data', key)), 'base64').toString('utf8');
}

function expectHardened(container: Obj, uid: number): void {
  const context = obj(container['securityContext']);
  expect(context['runAsNonRoot']).toBe(true);
  expect(context['runAsUser']).toBe(uid);
  expect(context['readOnlyRootFilesystem']).toBe(true);
  expect(context['allowPrivilegeEscalation']).toBe(false);
  expect(at(context, 'capabilities', 'drop')).toEqual(['ALL']);
  expect(at(container, 'resources', 'requests')).toBeDefined();
  expect(at(container, 'resources', 'limits', 'memory')).toBeDefined();
}

function portNumber(container: Obj, port: unknown): number | undefined {
  if (typeof port === 'number') return port;
  return list(container['ports']).find((p) => p['name'] === port)?.['containerPort'] as number | undefined;
}

function expectProbes(proxy: Obj, adminPort: number): void {
  for (const [probe, path] of [['startupProbe', '/readyz'], ['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
    expect(at(proxy, probe, 'httpGet', 'path'), probe).toBe(path);
    expect(portNumber(proxy, at(proxy, probe, 'httpGet', 'port')), `${probe} port`).toBe(adminPort);
  }
}

function expectGrace(pod: Pod, config: FileConfig): void {
  const preStop = Number(at(pod.proxy, 'lifecycle', 'preStop', 'sleep', 'seconds') ?? 0);
  const grace = Number(pod.spec['terminationGracePeriodSeconds']);
  expect(grace * 1000).toBeGreaterThan(config.limits.drain_timeout + preStop * 1000);
}

function env(container: Obj): Record<string, string> {
  return Object.fromEntries(list(container['env']).map((e) => [String(e['name']), String(e['value'])]));
}

describe('Kubernetes manifests', () => {
  it('ships the sidecar, transparent and gateway variants', () => {
    expect(files).toEqual(['gateway.yaml', 'sidecar.yaml', 'transparent.yaml']);
  });

  it.each(files)('%s: every document parses and names its kind, apiVersion and name', (file) => {
    for (const doc of load(file)) {
      expect(typeof doc['apiVersion']).toBe('string');
      expect(typeof doc['kind']).toBe('string');
      expect(typeof at(doc, 'metadata', 'name')).toBe('string');
    }
  });

  it.each(files)('%s: the proxy is hardened, probed, configured and given its secrets', (file) => {
    const docs = load(file);
    const [deployment] = byKind(docs, 'Deployment');
    const pod = podOf(obj(deployment));
    const config = proxyConfig(docs, pod);
    expect(config.admin).not.toBeNull();
    const adminPort = config.admin?.port ?? 0;
    expect(portNumber(pod.proxy, 'admin')).toBe(adminPort);
    expect(portNumber(pod.proxy, 'proxy')).toBe(config.listen.port);
    expectHardened(pod.proxy, PROXY_UID);
    expectProbes(pod.proxy, adminPort);
    expectGrace(pod, config);
    expect(at(pod.spec, 'securityContext', 'fsGroup')).toBe(PROXY_UID);
    expect(config.control_plane.api_key_file).not.toBeNull();
    expect(secretFile(docs, pod, config.control_plane.api_key_file ?? '').length).toBeGreaterThan(0);
    for (const agent of pod.containers.filter((c) => !isProxy(c))) {
      expectHardened(agent, Number(at(agent, 'securityContext', 'runAsUser')));
      expect(at(agent, 'securityContext', 'runAsUser')).not.toBe(PROXY_UID);
    }
  });

  it('sidecar.yaml: a native sidecar started before the agent, which reaches it through proxy variables', () => {
    const docs = load('sidecar.yaml');
    const pod = podOf(obj(byKind(docs, 'Deployment')[0]));
    expect(pod.init).toContain(pod.proxy);
    expect(pod.proxy['restartPolicy']).toBe('Always');
    const config = proxyConfig(docs, pod);
    expect(config.listen.host).toBe('127.0.0.1');
    const [agent] = pod.containers;
    const vars = env(obj(agent));
    const url = `http://127.0.0.1:${config.listen.port}`;
    expect(vars).toMatchObject({ HTTPS_PROXY: url, HTTP_PROXY: url, https_proxy: url, http_proxy: url });
    expect(vars['NO_PROXY']?.split(',')).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', '::1']));
  });

  it('transparent.yaml: an init container with NET_ADMIN/NET_RAW installs the shipped rules for the proxy UID and port', () => {
    const docs = load('transparent.yaml');
    const pod = podOf(obj(byKind(docs, 'Deployment')[0]));
    const config = proxyConfig(docs, pod);
    expect(config.transparent).toEqual({ host: '127.0.0.1', port: 15001 });
    const redirect = pod.init.find((c) => /^kaizen-proxy-init:/.test(String(c['image'])));
    if (redirect === undefined) throw new Error('no kaizen-proxy-init container');
    expect(pod.init.indexOf(redirect)).toBeLessThan(pod.init.indexOf(pod.proxy));
    expect(redirect['restartPolicy']).toBeUndefined();
    expect(redirect['args']).toEqual(['apply']);
    expect(at(redirect, 'securityContext', 'capabilities', 'add')).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(at(redirect, 'securityContext', 'capabilities', 'drop')).toEqual(['ALL']);
    // UDP dropped but DNS (and 443 always); DNS over TCP left to the resolver, not redirected to the
    // proxy, which would refuse it (unknown_protocol). netns-udp.test.ts applies these settings for real.
    expect(env(redirect)).toEqual({
      KAIZEN_PROXY_UID: String(PROXY_UID),
      KAIZEN_TRANSPARENT_PORT: String(config.transparent?.port),
      KAIZEN_UDP: 'drop',
      KAIZEN_EXCLUDE_PORTS: '53',
    });
    expect(pod.proxy['restartPolicy']).toBe('Always');
    // The Dockerfile's iptables-init stage ships the same script the netns test applies.
    const dockerfile = readFileSync(fileURLToPath(new URL('../../../Dockerfile', import.meta.url)), 'utf8');
    expect(dockerfile).toMatch(/FROM \S+ AS iptables-init[\s\S]*COPY config\/iptables\/kaizen-redirect\.sh /);
  });

  it('gateway.yaml: a Deployment behind a Service, beyond loopback only with gateway credentials', () => {
    const docs = load('gateway.yaml');
    const pod = podOf(obj(byKind(docs, 'Deployment')[0]));
    const config = proxyConfig(docs, pod);
    expect(config.listen.host).toBe('0.0.0.0');
    expect(config.unsafe_open_proxy).toBe(false);
    const credentials = parseCredentialsFile(secretFile(docs, pod, config.gateway.credentials_file ?? ''));
    expect(credentials.ok).toBe(true);
    const [service] = byKind(docs, 'Service');
    expect(at(service, 'spec', 'selector')).toEqual(at(byKind(docs, 'Deployment')[0], 'spec', 'template', 'metadata', 'labels'));
    // The Service the agents use publishes the proxy port only: the admin port (metrics labelled
    // with agent names) is scraped from the pod, as its annotations say, and probed by the kubelet.
    const ports = list(at(service, 'spec', 'ports'));
    expect(ports.map((p) => portNumber(pod.proxy, p['targetPort']))).toEqual([config.listen.port]);
    const adminPort = config.admin?.port ?? 0;
    expect(portNumber(pod.proxy, 'admin')).toBe(adminPort);
    const annotations = obj(at(byKind(docs, 'Deployment')[0], 'spec', 'template', 'metadata', 'annotations'));
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(adminPort) });
    expectProbes(pod.proxy, adminPort);
  });
});
