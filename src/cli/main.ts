import { VERSION } from '../version.js';
import { parseCommand, UsageError, type Command } from './args.js';
import { EXIT } from './exit-codes.js';
import { HELP } from './help.js';
import { keepInspectorClosed } from './inspector-signal.js';

/**
 * The command line: argv in, exit code out. The only caller of process.exit is src/cli.ts.
 * Each command's modules load only when it runs: --help and --version stay instant, and a wrapped
 * agent does not pay for the manifest or CA code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`kaizen-proxy: ${error.message}\nRun 'kaizen-proxy --help' for usage.\n`);
      return EXIT.USAGE;
    }
    throw error;
  }
  switch (command.name) {
    case 'help':
      process.stdout.write(HELP);
      return EXIT.OK;
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return EXIT.OK;
    case 'serve':
      // Before serve's modules load, and until the exit, as for wrap below.
      keepInspectorClosed();
      return (await import('./serve.js')).serve(command.flags);
    case 'wrap':
      // Before wrap mode's modules load (under load that takes a while), and until the exit.
      keepInspectorClosed();
      return (await import('./wrap.js')).wrap(command.flags, command.wrap, command.argv);
    case 'check':
      return (await import('./check.js')).check(command.flags, command.target, command.method);
    case 'ca':
      return (await import('./ca.js')).ca(command);
    case 'check-config':
      return (await import('./check-config.js')).checkConfig(command.flags);
    case 'manifest':
      return (await import('./manifest.js')).manifest(command);
  }
}
