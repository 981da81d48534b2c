import { isMap, isScalar, type Document } from 'yaml';
import type { Source } from './config-source.js';
import type { Override } from './overrides.js';

/**
 * Where a key's value came from: the flag or variable that set it last, else its line in the file
 * (the line of the key itself with `atKey`, for a key that has no business being there).
 */
export function whereIs(path: readonly string[], source: Source, overrides: readonly Override[], atKey = false): string {
  const override = [...overrides].reverse().find((o) => o.path.join('.') === path.slice(0, o.path.length).join('.'));
  if (override) return override.where;
  let where = source.file ?? '(defaults)';
  if (source.doc && source.file) {
    const node = (atKey ? findKeyNode(source.doc, path) : undefined) ?? findNode(source.doc, path);
    const offset = node?.range?.[0];
    if (offset !== undefined) where = `${source.file}:${String(source.lines.linePos(offset).line)}`;
  }
  return where;
}

type Ranged = { range?: readonly [number, number, number] | null };

function findNode(doc: Document, path: readonly string[]): Ranged | undefined {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node: unknown = doc.getIn(path.slice(0, depth).map((p) => (/^\d+$/.test(p) ? Number(p) : p)), true);
    if (node && typeof node === 'object' && 'range' in node) return node as Ranged;
  }
  return undefined;
}

/** The key node of the last step of `path` in its mapping, when the file spells it. */
function findKeyNode(doc: Document, path: readonly string[]): Ranged | undefined {
  const parentPath = path.slice(0, -1).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const parent: unknown = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  if (!isMap(parent)) return undefined;
  const name = path[path.length - 1];
  const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === name);
  return isScalar(pair?.key) ? pair.key : undefined;
}
