import { canonicalHost } from '../../action/canonical-host.js';
import type { Action } from '../../contract/action.js';
import { parseIp } from '../../net/ip-address.js';
import type { Candidate } from './ip-set.js';
import { normalisePublisher, normaliseText } from './rule-values.js';

/**
 * What the rules look at, computed once per evaluation: the canonical host, every address to
 * judge (the literal target and each address the name resolved to), and the normalised tool,
 * publisher and hash. The host goes through src/action's canonicaliser again, so an action built
 * outside the transport is compared exactly like one built by it.
 */
export interface PolicySubject {
  readonly host: string;
  /** The host is an IP literal (domain rules then match only an IP written in them). */
  readonly hostIsIp: boolean;
  /** A name and its parent domains ("a.b.c", "b.c", "c"), split once for every domain rule; [] for an IP. */
  readonly suffixes: readonly string[];
  readonly candidates: readonly Candidate[];
  readonly tool: string | null;
  readonly publisher: string | null;
  readonly hash: string | null;
}

export type SubjectBuilder = (action: Action, addresses: readonly string[]) => PolicySubject;

/** Targets whose canonical host is remembered: an agent talks to few hosts, and canonicalising costs microseconds. */
const MAX_REMEMBERED_HOSTS = 4096;

/** One builder per engine: it remembers canonical hosts (a bounded memo of a pure function, emptied when full). */
export function createSubjectBuilder(): SubjectBuilder {
  const hosts = new Map<string, string>();
  const hostOf = (target: string): string => {
    const known = hosts.get(target);
    if (known !== undefined) return known;
    const host = canonicalTargetHost(target);
    if (hosts.size >= MAX_REMEMBERED_HOSTS) hosts.clear();
    hosts.set(target, host);
    return host;
  };
  return (action, addresses) => policySubject(action, addresses, hostOf(action.target));
}

function policySubject(action: Action, addresses: readonly string[], host: string): PolicySubject {
  const candidates: Candidate[] = [];
  const literal = parseIp(host);
  if (literal !== undefined) candidates.push({ text: host, ip: literal });
  for (const text of addresses) {
    if (text === host || candidates.some((candidate) => candidate.text === text)) continue;
    const ip = parseIp(text);
    if (ip !== undefined) candidates.push({ text, ip });
  }
  return {
    host,
    hostIsIp: literal !== undefined,
    suffixes: literal === undefined ? suffixesOf(host) : [],
    candidates,
    tool: optional(action.tool),
    publisher: optionalPublisher(action.publisher),
    hash: optional(action.hash),
  };
}

/** "host:port" or "[v6]:port" → canonical host; a target that is not one throws (the reflex then fails closed). */
function canonicalTargetHost(target: string): string {
  const bracketed = target.startsWith('[');
  const end = bracketed ? target.indexOf(']') : target.lastIndexOf(':');
  const text = bracketed ? target.slice(1, end) : end < 0 ? target : target.slice(0, end);
  const host = canonicalHost(text);
  if (!host.ok) throw new Error(`action target has no valid host (${host.message})`);
  return host.value.host;
}

function suffixesOf(host: string): string[] {
  const suffixes = [host];
  for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) suffixes.push(host.slice(dot + 1));
  return suffixes;
}

function optional(value: string | undefined): string | null {
  if (value === undefined) return null;
  const normalised = normaliseText(value);
  return normalised === '' ? null : normalised;
}

/** A route's publisher may be written in Unicode; rules hold the punycode form (rule-values.ts). */
function optionalPublisher(value: string | undefined): string | null {
  if (value === undefined) return null;
  const normalised = normalisePublisher(value);
  return normalised === '' ? null : normalised;
}
