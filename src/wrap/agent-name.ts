import { basename } from 'node:path';

/**
 * The agent name of a wrapped command when neither --agent nor KAIZEN_AGENT names one: the
 * command's basename, made acceptable to the schema (no spaces or slashes, at most 200 characters).
 */
export function agentFromCommand(command: string): string {
  const base = basename(command).replace(/[\s/\\]+/g, '-').slice(0, 200);
  return base === '' || base === '.' || base === '..' ? 'wrapped-agent' : base;
}
