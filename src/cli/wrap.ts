import { formatConfigFailure, loadConfig } from '../config/load.js';
import type { FlagOverrides } from '../config/types.js';
import { agentFromCommand } from '../wrap/agent-name.js';
import type { Collapse } from '../learn/manifest-of.js';
import { createLearner, writeManifestFile, type Learner } from '../wrap/learn-manifest.js';
import { runWrapped } from '../wrap/run-wrapped.js';
import { blankInitialVariables } from '../wrap/initial-environment.js';
import { withheldFromCommand } from '../wrap/withheld-variables.js';
import { caTrustFor, type CaTrust } from '../wrap/ca-trust.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';
import type { WrapFlags } from './args.js';
import { EXIT } from './exit-codes.js';
import { learnedNotes } from './manifest.js';
import { stderrWriter, type StderrWriter } from './stderr-writer.js';

/**
 * `kaizen-proxy [options] -- COMMAND [ARGS...]`: the proxy on an ephemeral loopback port (unless
 * --listen or KAIZEN_PROXY_LISTEN says otherwise; PORT is the child's business), the agent named
 * by --agent, else KAIZEN_AGENT, else the command's basename. Exits with the child's code.
 */
export async function wrap(flags: FlagOverrides, options: WrapFlags, argv: readonly [string, ...string[]]): Promise<number> {
  const env = process.env;
  // From here on a stderr that fails (EPIPE) silences the wrapper's notices, never the wrapper.
  const stderr = stderrWriter(process.stderr);
  const loaded = loadConfig({ flags: wrapDefaults(flags, env, argv[0]), env });
  if (!loaded.ok) {
    stderr(formatConfigFailure(loaded));
    return EXIT.CONFIG;
  }
  // The key and any upstream proxy's credentials are read: the command, which runs as our user,
  // must not find them in our /proc environ either.
  blankInitialVariables(withheldFromCommand(options.passApiKey));
  const learner = options.manifestOut === null ? null : createLearner(loaded.config.agent);
  // Interception on: the child trusts the CA (files written now, removed after the run).
  let trust: CaTrust | null;
  try {
    trust = await caTrustFor(loaded.config, env);
  } catch (error) {
    if (!isKaizenProxyError(error)) throw error;
    stderr(`kaizen-proxy: ${error.code}: ${error.message}\n`);
    return EXIT.START;
  }
  const result = await runWrapped({
    config: loaded.config,
    ...(trust === null ? {} : { layers: [trust.layer] }),
    ...(learner === null ? {} : { observers: [learner.observer] }),
    argv,
    summary: options.summary || process.stderr.isTTY,
    summaryJson: options.summaryJson,
    logFile: options.logFile,
    passApiKey: options.passApiKey,
    env,
    stderr,
  });
  await trust?.remove();
  if (result.kind === 'setup-failed') {
    stderr(`kaizen-proxy: ${result.message}\n`);
    return EXIT.START;
  }
  if (learner !== null && options.manifestOut !== null && result.outcome.kind !== 'not-started') {
    await writeLearned(learner, options.manifestOut, options.collapse, loaded.config.agent, stderr);
  }
  return result.exitCode;
}

/**
 * Defaults that differ from `serve`: they sit at flag level so that they win over the config
 * file (whose `listen: 127.0.0.1:8080` and `agent` are meant for the long-running proxy), but an
 * environment variable or a real flag still wins over them.
 */
function wrapDefaults(flags: FlagOverrides, env: NodeJS.ProcessEnv, command: string): FlagOverrides {
  const listen = flags.listen ?? (isSet(env['KAIZEN_PROXY_LISTEN']) ? undefined : '127.0.0.1:0');
  const agent = flags.agent ?? (isSet(env['KAIZEN_AGENT']) ? undefined : agentFromCommand(command));
  // No admin or transparent listener unless a flag asks: the child uses neither, and two wrapped
  // commands must not compete for the file's ports (127.0.0.1:9901, the sidecar's 15001).
  const admin = flags.admin ?? 'off';
  const transparent = flags.transparent ?? 'off';
  // The sidecar's exposure settings stay with the sidecar: only --unsafe-open-proxy opens this
  // proxy beyond loopback, and no gateway credentials, which the child's HTTP_PROXY does not carry
  // (every request would get 407); the proxy serves its own child only.
  const unsafeOpenProxy = flags.unsafeOpenProxy ?? false;
  return {
    ...flags,
    admin,
    transparent,
    unsafeOpenProxy,
    gateway: 'off',
    ...(listen === undefined ? {} : { listen }),
    ...(agent === undefined ? {} : { agent }),
  };
}

/** `--learn`: the manifest file beside the summary, and what the operator should know about it. */
async function writeLearned(learner: Learner, file: string, collapse: Collapse, agent: string, stderr: StderrWriter): Promise<void> {
  const learned = learner.manifest(collapse);
  try {
    await writeManifestFile(file, learned);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unwritable';
    stderr(`kaizen-proxy: warn: cannot write the manifest to ${file} (${code})\n`);
    return;
  }
  const { destinations, tools } = learned.manifest;
  stderr(`kaizen-proxy: manifest of ${JSON.stringify(agent)} (${destinations.length} destinations, ${tools.length} tools) written to ${file}\n`);
  for (const note of learnedNotes(learned)) stderr(`kaizen-proxy: note: ${note}\n`);
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}
