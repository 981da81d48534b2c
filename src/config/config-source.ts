import { existsSync } from 'node:fs';
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { readConfigFile } from './read-config-file.js';
import type { ConfigErrorCode, ConfigIssue } from './types.js';

/** The configuration file's values, and its document and lines to say where a key was written. */
export interface Source {
  readonly file: string | null;
  readonly raw: unknown;
  readonly doc: Document | null;
  readonly lines: LineCounter;
}

export type SourceFailure = { readonly code: ConfigErrorCode; readonly issues: ConfigIssue[] };

const NO_MERGE_KEYS = 'YAML merge keys (<<) are not supported: write the keys out';

/**
 * The named file, else the default one when present, else nothing (the embedded defaults). YAML
 * the parser reads but the configuration does not take is refused at its line: errors, what the
 * parser only warns about (an unresolved tag, an unknown directive: the value would be taken as
 * plain text) and merge keys, which YAML 1.2 does not have and `%YAML 1.1` would merge silently.
 */
export function readSource(named: string | undefined, defaultFile: string, regularOnly = false): Source | SourceFailure {
  const lines = new LineCounter();
  const file = named ?? (existsSync(defaultFile) ? defaultFile : null);
  if (file === null) return { file: null, raw: {}, doc: null, lines };
  const read = readConfigFile(file, regularOnly);
  if (!read.ok) return { code: read.code, issues: [read.issue] };
  const doc = parseDocument(read.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): string => `${file}:${String(lines.linePos(offset).line)}`;
  const yamlIssues = [...doc.errors, ...doc.warnings].map((problem) => ({ where: at(problem.pos[0]), key: '(yaml)', message: problem.message.split('\n')[0] ?? 'invalid YAML' }));
  if (doc.errors.length === 0) yamlIssues.push(...mergeKeyOffsets(doc).map((offset) => ({ where: at(offset), key: '(yaml)', message: NO_MERGE_KEYS })));
  if (yamlIssues.length > 0) return { code: 'KZP_ERR_CONFIG_INVALID', issues: yamlIssues };
  // toJS() throws on what parsing let through, an alias bomb among them ("Excessive alias count").
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (error) {
    return { code: 'KZP_ERR_CONFIG_INVALID', issues: [{ where: file, key: '(yaml)', message: error instanceof Error ? error.message : 'invalid YAML' }] };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { code: 'KZP_ERR_CONFIG_INVALID', issues: [{ where: `${file}:1`, key: '(root)', message: 'expected a mapping of keys at the top level' }] };
  }
  return { file, raw, doc, lines };
}

/**
 * Where each merge key starts: a plain `<<` key (YAML 1.2 leaves it a string), or the symbol the
 * YAML 1.1 schema resolves it to. A quoted "<<" is an ordinary key, refused as unknown by the schema.
 */
function mergeKeyOffsets(doc: Document): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key;
      if (!isScalar(key)) return;
      const merge = typeof key.value === 'symbol' ? key.value.description === '<<' : key.value === '<<' && key.type === 'PLAIN';
      if (merge) offsets.push(key.range?.[0] ?? 0);
    },
  });
  return offsets;
}
