import { createProxy, type KaizenProxy } from '../app/create-proxy.js';
import { ListenError } from '../app/listen-error.js';
import type { ProxyConfig } from '../config/types.js';
import { combineObservers, type ProxyObserver } from '../contract/observer.js';
import { blockNotices } from './block-notices.js';
import { buildChildEnv, type ChildEnvLayer } from './child-env.js';
import { exitCodeOf, type ChildOutcome } from './child-outcome.js';
import { EgressTally } from './egress-tally.js';
import { bundledPreload } from './preload-path.js';
import { notStartedLine } from './not-started.js';
import { endpointFor } from './proxy-endpoint.js';
import { formatSummaryTable } from './summary-table.js';
import { summaryDocument, writeSummaryJson } from './summary-json.js';
import { supervise } from './supervise.js';
import { createWrapLog, type WrapLog } from './wrap-log.js';
import { wrapLayers } from './wrap-layers.js';

export interface WrapRequest {
  /** Validated configuration, the agent name already chosen for this command. */
  readonly config: ProxyConfig;
  readonly argv: readonly [string, ...string[]];
  /** Print the summary table on stderr when the child exits. */
  readonly summary: boolean;
  readonly summaryJson: string | null;
  readonly logFile: string | null;
  /** The parent environment the child's is built from. */
  readonly env: NodeJS.ProcessEnv;
  /** The wrapper's stderr: notices, warnings and the summary. */
  readonly stderr: (text: string) => void;
  /** Further child environment layers, applied after the proxy's own (CA trust for interception). */
  readonly layers?: readonly ChildEnvLayer[];
  /** Further observers of the proxy's events (a learning recorder, for example). */
  readonly observers?: readonly ProxyObserver[];
  /** Leave KAIZEN_API_KEY in the command's environment (--pass-api-key); withheld by default. */
  readonly passApiKey?: boolean;
  /** The bundled Node preload; defaults to dist/preload.cjs beside the CLI. */
  readonly preload?: string | null;
}

export type WrapResult =
  | { readonly kind: 'ran'; readonly outcome: ChildOutcome; readonly exitCode: number }
  /** The wrapper could not set up: the log file could not be opened, or the proxy could not listen. */
  | { readonly kind: 'setup-failed'; readonly stage: 'log-file' | 'listen'; readonly message: string };

/**
 * Wrap mode end to end: start the proxy, run the command behind it, stop the proxy after the
 * command (requests in flight finish, tunnels are closed at once), then report. The child's
 * stdout is left alone; everything the wrapper says goes to stderr.
 */
export async function runWrapped(request: WrapRequest): Promise<WrapResult> {
  const { config, stderr } = request;
  let log: WrapLog;
  try {
    log = createWrapLog({ level: config.log.level, logFile: request.logFile, notices: stderr });
  } catch (error) {
    return { kind: 'setup-failed', stage: 'log-file', message: `cannot open the log file ${request.logFile ?? ''} (${errnoOf(error)})` };
  }
  const tally = new EgressTally();
  const observer = combineObservers([tally, blockNotices(stderr), ...(request.observers ?? [])]);
  let proxy: KaizenProxy;
  try {
    // No record under data_dir for a one-off command: --learn collects its own, for this run only.
    // No descriptor-budget warning on the command's terminal either (see CreateProxyOptions).
    proxy = await createProxy(config, { logger: log.logger, observer, recordObserved: false, warnDescriptorBudget: false });
  } catch (error) {
    await log.close();
    if (error instanceof ListenError) return { kind: 'setup-failed', stage: 'listen', message: error.message };
    const where = `${config.listen.host}:${config.listen.port}`;
    return { kind: 'setup-failed', stage: 'listen', message: `cannot listen on ${where} (${errnoOf(error)})` };
  }

  const preload = request.preload === undefined ? bundledPreload() : request.preload;
  if (preload === null) stderr('kaizen-proxy: warn: the Node preload (dist/preload.cjs) is missing: Node 20 children will not be routed\n');
  const layers = [...wrapLayers(preload), ...(request.layers ?? [])];
  const child = buildChildEnv(request.env, endpointFor(proxy.address), layers, { passApiKey: request.passApiKey === true });
  for (const warning of child.warnings) stderr(`kaizen-proxy: warn: ${warning}\n`);

  const outcome = await supervise({ argv: request.argv, env: child.env });
  if (outcome.kind === 'not-started') stderr(`kaizen-proxy: ${await notStartedLine(request.argv[0], outcome.errno, child.env)}\n`);
  const exitCode = exitCodeOf(outcome);

  // The command is gone: requests in flight may finish, but tunnels still open and connections that
  // have sent nothing yet (a process it left behind) are not waited for up to limits.drain_timeout.
  await proxy.close({ waitForTunnels: false });
  await log.close();
  const rows = tally.rows();
  const refusals = tally.refusals();
  if (request.summary) stderr(formatSummaryTable(config.agent, rows, refusals));
  if (request.summaryJson !== null) {
    try {
      await writeSummaryJson(request.summaryJson, summaryDocument(config.agent, outcome, exitCode, rows, refusals));
    } catch (error) {
      stderr(`kaizen-proxy: warn: cannot write the summary to ${request.summaryJson} (${errnoOf(error)})\n`);
    }
  }
  return { kind: 'ran', outcome, exitCode };
}

function errnoOf(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}
