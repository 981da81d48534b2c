import type { FlagOverrides } from '../config/types.js';
import { COLLAPSE_MODES, type Collapse } from '../learn/manifest-of.js';

/** `kaizen-proxy manifest [--agent NAME] [--collapse registrable] [--push | --policy]`. */
export interface ManifestCommand {
  readonly name: 'manifest';
  readonly flags: FlagOverrides;
  readonly collapse: Collapse;
  /** Send it to the control plane (POST /v1/agents/{agent}/manifest) and report the answer. */
  readonly push: boolean;
  /** Print an allowlist policy for `policies:` instead of the manifest. */
  readonly policy: boolean;
}

export interface ManifestValues {
  readonly collapse?: string | undefined;
  readonly push?: boolean | undefined;
  readonly policy?: boolean | undefined;
}

/** The flags only `manifest` (and, for --collapse, wrap mode with --learn) take. */
export const MANIFEST_ONLY = ['push', 'policy'] as const;

export function parseCollapse(text: string | undefined): Collapse | { readonly error: string } {
  if (text === undefined) return 'none';
  const found = COLLAPSE_MODES.find((mode) => mode === text);
  return found ?? { error: `--collapse expects ${COLLAPSE_MODES.join(' or ')}` };
}

/** The command, or the usage message to refuse it with. */
export function manifestCommand(flags: FlagOverrides, positionals: readonly string[], values: ManifestValues): ManifestCommand | string {
  if (positionals.length > 0) return 'usage: kaizen-proxy manifest [--agent NAME] [--collapse registrable] [--push | --policy]';
  if (values.push === true && values.policy === true) return '--push sends the manifest and --policy prints a policy instead of it: choose one';
  const collapse = parseCollapse(values.collapse);
  if (typeof collapse !== 'string') return collapse.error;
  return { name: 'manifest', flags, collapse, push: values.push === true, policy: values.policy === true };
}
