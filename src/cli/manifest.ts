import { formatConfigFailure, loadConfig } from '../config/load.js';
import type { ProxyConfig } from '../config/types.js';
import type { Manifest } from '../contract/manifest.js';
import { learnedPolicy, policyYaml } from '../learn/learned-policy.js';
import { manifestOf, type LearnedManifest } from '../learn/manifest-of.js';
import { readRecord, recordPath } from '../learn/record-file.js';
import { createLogger } from '../observe/logger.js';
import { createControlPlaneClient } from '../verdict/control-plane-client.js';
import type { ManifestCommand } from './manifest-args.js';

/** Exit codes of `kaizen-proxy manifest` (README, "Learn a manifest"). */
export const MANIFEST_EXIT = {
  OK: 0,
  /** Invalid configuration, an unreadable record, or --push without an API key. */
  CONFIG: 1,
  /** Nothing observed for the agent (no record, nothing to declare for --push, nothing to allow for --policy). */
  NOTHING: 4,
  /** The control plane refused the manifest, or could not be reached. */
  PUSH_FAILED: 5,
} as const;

/** A manifest push may wait longer than one verdict: at least this long. */
const MIN_PUSH_TIMEOUT_MS = 10_000;

/**
 * `kaizen-proxy manifest`: Kaizen's manifest of what the agent did, from data_dir/observed/<agent>.json,
 * printed as JSON on stdout (or, with --policy, an allowlist policy as YAML). Notes and the answer to
 * --push go to stderr, so stdout can be redirected to a file as it is.
 */
export async function manifest(command: ManifestCommand): Promise<number> {
  const loaded = loadConfig({ flags: command.flags });
  if (!loaded.ok) {
    process.stderr.write(formatConfigFailure(loaded));
    return MANIFEST_EXIT.CONFIG;
  }
  const config = loaded.config;
  const file = recordPath(config.dataDir, config.agent);
  const read = await readRecord(file);
  if (read.kind === 'missing') {
    process.stderr.write(`kaizen-proxy: nothing observed for agent ${JSON.stringify(config.agent)} (no ${file}): run it behind the proxy first, or wrap it with --learn\n`);
    return MANIFEST_EXIT.NOTHING;
  }
  if (read.kind === 'invalid') {
    process.stderr.write(`kaizen-proxy: ${file} is not an observed record (${read.message})\n`);
    return MANIFEST_EXIT.CONFIG;
  }
  const learned = manifestOf(read.record, command.collapse);
  for (const note of learnedNotes(learned)) process.stderr.write(`kaizen-proxy: note: ${note}\n`);
  if (command.policy) {
    if (learned.manifest.destinations.length === 0) {
      process.stderr.write('kaizen-proxy: no destination to allow: nothing was forwarded on a verdict, and an empty allowlist would refuse everything\n');
      return MANIFEST_EXIT.NOTHING;
    }
    process.stdout.write(policyYaml(learnedPolicy(config.agent, learned.manifest)));
    return MANIFEST_EXIT.OK;
  }
  process.stdout.write(`${JSON.stringify(learned.manifest, null, 2)}\n`);
  return command.push ? push(config, learned.manifest) : MANIFEST_EXIT.OK;
}

/** What the operator should know about a learned manifest (also printed by wrap mode's --learn). */
export function learnedNotes(learned: LearnedManifest): string[] {
  const notes: string[] = [];
  if (learned.refusedOnly.length > 0) notes.push(`left out, every action refused: ${learned.refusedOnly.join(', ')}`);
  if (learned.failOpenOnly.length > 0) notes.push(`left out, forwarded only without a verdict (fail open, or monitor mode): ${learned.failOpenOnly.join(', ')}`);
  if (learned.unreachedOnly.length > 0) notes.push(`left out, never reached (no address, or refused at the SNI check): ${learned.unreachedOnly.join(', ')}`);
  if (learned.wouldBlock.length > 0) notes.push(`kept, but enforce mode would block them: ${learned.wouldBlock.join(', ')}`);
  if (learned.toolsLeftOut.length > 0) notes.push(`tools left out, no call forwarded on a verdict: ${learned.toolsLeftOut.join(', ')}`);
  // The record's bound: what it could not hold is missing here, and enforcing this would refuse it.
  if (learned.droppedActions > 0) notes.push(`incomplete: the record was full: ${learned.droppedActions} actions on destinations it could not hold are not in this manifest`);
  if (learned.droppedTools > 0) notes.push(`incomplete: ${learned.droppedTools} tool names were not recorded (over 64 on one destination, or longer than 200 characters)`);
  return notes;
}

async function push(config: ProxyConfig, body: Manifest): Promise<number> {
  const apiKey = config.controlPlane.apiKey;
  if (apiKey === null) {
    process.stderr.write('kaizen-proxy: --push needs KAIZEN_API_KEY (or control_plane.api_key_file)\n');
    return MANIFEST_EXIT.CONFIG;
  }
  if (body.destinations.length === 0 && body.tools.length === 0) {
    process.stderr.write('kaizen-proxy: nothing to declare: not pushing an empty manifest (it would replace the current declaration)\n');
    return MANIFEST_EXIT.NOTHING;
  }
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  const timeoutMs = Math.max(config.controlPlane.timeoutMs, MIN_PUSH_TIMEOUT_MS);
  const client = createControlPlaneClient({ url: config.controlPlane.url, apiKey, timeoutMs, logger, upstreamProxy: config.upstreamProxy });
  try {
    const result = await client.pushManifest(config.agent, body, timeoutMs);
    const answer = result.body === '' ? '' : `: ${result.body}`;
    if (result.ok) {
      process.stderr.write(`kaizen-proxy: manifest of ${JSON.stringify(config.agent)} pushed (${result.status})${answer}\n`);
      return MANIFEST_EXIT.OK;
    }
    process.stderr.write(`kaizen-proxy: ${result.error.code}: ${result.error.message}${answer}\n`);
    return MANIFEST_EXIT.PUSH_FAILED;
  } finally {
    await client.close();
  }
}
