import { isMap, isScalar, isSeq, type Document } from 'yaml';
import type { Source } from './config-source.js';
import type { Override } from './overrides.js';

/** Where a key neither the file nor an override set is said to come from: its built-in default. */
export const DEFAULTS = '(defaults)';

/**
 * Where a key's value came from: the flag or variable that set it last, else its line in the file
 * (the line of the key itself with `atKey`, for a key that has no business being there), else
 * DEFAULTS when the file leaves it out.
 */
export function whereIs(path: readonly string[], source: Source, overrides: readonly Override[], atKey = false): string {
  const override = [...overrides].reverse().find((o) => o.path.join('.') === path.slice(0, o.path.length).join('.'));
  if (override) return override.where;
  if (source.doc === null || source.file === null) return DEFAULTS;
  const node = (atKey ? findKeyNode(source.doc, path) : undefined) ?? findNode(source.doc, path);
  if (node === undefined) return DEFAULTS;
  const offset = node.range?.[0];
  return offset === undefined ? source.file : `${source.file}:${String(source.lines.linePos(offset).line)}`;
}

type Ranged = { range?: readonly [number, number, number] | null };

/**
 * The node the file wrote for `path`, or the nearest one holding it: a list whose item is named by
 * an index the file's list has not, or an alias. Undefined when a mapping on the way lacks the
 * key: that value is a default, and no line of the file is about it.
 */
function findNode(doc: Document, path: readonly string[]): Ranged | undefined {
  let node: unknown = doc.contents;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === step);
      if (pair === undefined) return undefined;
      node = pair.value ?? pair.key; // `key:` with nothing after it: the key's line
    } else if (isSeq(node) && /^\d+$/.test(step) && Number(step) < node.items.length) {
      node = node.items[Number(step)];
    } else {
      break;
    }
  }
  return node !== null && typeof node === 'object' && 'range' in node ? (node as Ranged) : undefined;
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
