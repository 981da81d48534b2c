import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnProxy, type ProxyProcess } from './proxy-process.js';

const MANIFESTS = fileURLToPath(new URL('../../../config/kubernetes/', import.meta.url));

/** Every kaizen-proxy container's memory request in the shipped manifests, in bytes. */
function memoryRequests(): { where: string; bytes: number }[] {
  const found: { where: string; bytes: number }[] = [];
  for (const file of readdirSync(MANIFESTS).filter((name) => name.endsWith('.yaml'))) {
    const text = readFileSync(join(MANIFESTS, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const spec = (doc.toJS() as { spec?: { template?: { spec?: Record<string, unknown> } } } | null)?.spec?.template?.spec ?? {};
      const containers = [...((spec['initContainers'] as unknown[] | undefined) ?? []), ...((spec['containers'] as unknown[] | undefined) ?? [])] as {
        image?: string;
        resources?: { requests?: { memory?: string } };
      }[];
      for (const container of containers.filter((c) => /^kaizen-proxy:/.test(c.image ?? ''))) {
        const request = /^(\d+)Mi$/.exec(container.resources?.requests?.memory ?? '');
        if (request?.[1] === undefined) throw new Error(`${file}: the kaizen-proxy container's memory request is not in Mi`);
        found.push({ where: file, bytes: Number(request[1]) * 1024 * 1024 });
      }
    }
  }
  return found;
}

describe('the manifests ask for the memory the proxy uses', () => {
  let proxy: ProxyProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'kzp-mem-'));
  afterAll(async () => {
    await proxy?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("every kaizen-proxy container's memory request covers the RSS of a started proxy with an account", async () => {
    const requests = memoryRequests();
    expect(requests.map((r) => r.where).sort()).toEqual(['gateway.yaml', 'sidecar.yaml', 'transparent.yaml']);
    // As in the sidecar: an account (its client and spool loaded; the control plane need not answer), admin on.
    proxy = await spawnProxy({
      yaml: ['listen: 127.0.0.1:0', 'admin: 127.0.0.1:0', `data_dir: ${dataDir}`, 'control_plane: { url: "http://127.0.0.1:9" }'].join('\n'),
      env: { KAIZEN_API_KEY: 'kz_test_memory' },
    });
    const rss = proxy.rss();
    expect(rss).toBeGreaterThan(0);
    for (const request of requests) expect(rss, `${request.where}: requests ${request.bytes} bytes`).toBeLessThan(request.bytes);
  });
});
