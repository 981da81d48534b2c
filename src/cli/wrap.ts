import { formatIssues, loadConfig } from '../config/load.js';
import type { FlagOverrides } from '../config/types.js';
import { agentFromCommand } from '../wrap/agent-name.js';
import { runWrapped } from '../wrap/run-wrapped.js';
import { caTrustFor, type CaTrust } from '../wrap/ca-trust.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';
import type { WrapFlags } from './args.js';
import { EXIT } from './exit-codes.js';

/**
 * `kaizen-proxy [options] -- COMMAND [ARGS...]`: the proxy on an ephemeral loopback port (unless
 * --listen or KAIZEN_PROXY_LISTEN says otherwise; PORT is the child's business), the agent named
 * by --agent, else KAIZEN_AGENT, else the command's basename. Exits with the child's code.
 */
export async function wrap(flags: FlagOverrides, options: WrapFlags, argv: readonly [string, ...string[]]): Promise<number> {
  const env = process.env;
  const loaded = loadConfig({ flags: wrapDefaults(flags, env, argv[0]), env });
  if (!loaded.ok) {
    process.stderr.write(`kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n${formatIssues(loaded.issues)}\n`);
    return EXIT.CONFIG;
  }
  // Interception on: the child trusts the CA (files written now, removed after the run).
  let trust: CaTrust | null;
  try {
    trust = await caTrustFor(loaded.config, env);
  } catch (error) {
    if (!isKaizenProxyError(error)) throw error;
    process.stderr.write(`kaizen-proxy: ${error.code}: ${error.message}\n`);
    return EXIT.START;
  }
  const result = await runWrapped({
    config: loaded.config,
    ...(trust === null ? {} : { layers: [trust.layer] }),
    argv,
    summary: options.summary || process.stderr.isTTY,
    summaryJson: options.summaryJson,
    logFile: options.logFile,
    env,
    stderr: (text) => {
      process.stderr.write(text);
    },
    onTerminal: process.stdin.isTTY,
  });
  await trust?.remove();
  if (result.kind === 'setup-failed') {
    process.stderr.write(`kaizen-proxy: ${result.message}\n`);
    return EXIT.START;
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
  // No admin listener unless asked for: two wrapped commands must not compete for 127.0.0.1:9901.
  const admin = flags.admin ?? 'off';
  return { ...flags, admin, ...(listen === undefined ? {} : { listen }), ...(agent === undefined ? {} : { agent }) };
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '';
}
