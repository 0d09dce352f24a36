import { inspect } from 'node:util';
import { ClustersConfigError } from '../config/issue.ts';
import { executeCommand } from './commands.ts';
import { ExitCode, type CliIO } from './io.ts';
import { parseCommandLine } from './parse-command-line.ts';
import { UsageError } from './usage-error.ts';

/**
 * The whole program behind main: parse, run, map failures to exit codes.
 * Usage errors are one line (exit 2); a bad clusters config lists every
 * problem (exit 1); anything else is unexpected and printed in full (exit 1).
 */
export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: CliIO): Promise<number> {
  try {
    const commandLine = parseCommandLine(argv, env);
    if (commandLine.name === 'help') {
      io.stdout.write(commandLine.text);
      return ExitCode.ok;
    }
    return await executeCommand(commandLine, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`clusterwire: ${error.message}\n`);
      return ExitCode.usage;
    }
    if (error instanceof ClustersConfigError) {
      io.stderr.write(`clusterwire: ${error.message}\n`);
      return ExitCode.badConfig;
    }
    io.stderr.write(`clusterwire: ${inspect(error)}\n`);
    return ExitCode.failed;
  }
}
