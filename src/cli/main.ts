import { VERSION } from '../version.js';
import { parseCommand, UsageError, type Command } from './args.js';
import { EXIT } from './exit-codes.js';
import { ca } from './ca.js';
import { check } from './check.js';
import { checkConfig } from './check-config.js';
import { HELP } from './help.js';
import { manifest } from './manifest.js';
import { serve } from './serve.js';
import { wrap } from './wrap.js';

/** The command line: argv in, exit code out. The only caller of process.exit is src/cli.ts. */
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
      return serve(command.flags);
    case 'wrap':
      return wrap(command.flags, command.wrap, command.argv);
    case 'check':
      return check(command.flags, command.target, command.method);
    case 'ca':
      return ca(command);
    case 'check-config':
      return checkConfig(command.flags);
    case 'manifest':
      return manifest(command);
  }
}
