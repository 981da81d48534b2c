import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const DIR = 'config/kubernetes';
type Obj = Record<string, unknown>;
const obj = (value: unknown): Obj => (typeof value === 'object' && value !== null ? (value as Obj) : {});
const list = (value: unknown): Obj[] => (Array.isArray(value) ? value.map(obj) : []);

describe('Kubernetes manifests keep the report spool on a writable emptyDir', () => {
  for (const file of readdirSync(DIR).filter((name) => name.endsWith('.yaml'))) {
    it(file, () => {
      const docs = parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => obj(doc.toJS()));
      const text = docs.filter((doc) => doc['kind'] === 'ConfigMap').map((doc) => obj(doc['data'])['kaizen-proxy.yaml'])[0];
      const config = obj(parse(typeof text === 'string' ? text : '{}'));
      const dataDir = config['data_dir'];
      expect(typeof dataDir === 'string' && dataDir.startsWith('/')).toBe(true);
      const pod = obj(obj(obj(docs.find((doc) => doc['kind'] === 'Deployment')?.['spec'])['template'])['spec']);
      const proxy = [...list(pod['initContainers']), ...list(pod['containers'])].find((container) => String(container['name']).startsWith('kaizen-proxy'));
      const mount = list(proxy?.['volumeMounts']).find((m) => m['mountPath'] === dataDir);
      expect(mount, `a volume mounted at ${String(dataDir)}`).toBeDefined();
      expect(mount?.['readOnly']).not.toBe(true);
      const volume = list(pod['volumes']).find((v) => v['name'] === mount?.['name']);
      expect(volume?.['emptyDir']).toBeDefined();
    });
  }
});
