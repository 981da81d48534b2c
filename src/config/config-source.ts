import { existsSync } from 'node:fs';
import { LineCounter, parseDocument, type Document } from 'yaml';
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

/** The named file, else the default one when present, else nothing (the embedded defaults). */
export function readSource(named: string | undefined, defaultFile: string): Source | SourceFailure {
  const lines = new LineCounter();
  const file = named ?? (existsSync(defaultFile) ? defaultFile : null);
  if (file === null) return { file: null, raw: {}, doc: null, lines };
  const read = readConfigFile(file);
  if (!read.ok) return { code: read.code, issues: [read.issue] };
  const doc = parseDocument(read.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      code: 'KZP_ERR_CONFIG_INVALID',
      issues: doc.errors.map((error) => ({
        where: `${file}:${String(lines.linePos(error.pos[0]).line)}`,
        key: '(yaml)',
        message: error.message.split('\n')[0] ?? 'invalid YAML',
      })),
    };
  }
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
