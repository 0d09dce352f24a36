import { COMMANDS, commandSpec, isCommandName, type Command, type CommandName } from './commands.ts';
import { flagReader, scanFlags } from './flags.ts';
import { commandHelp, topLevelHelp } from './help.ts';
import { UsageError } from './usage-error.ts';

/** Help was asked for: print `text` and exit 0. */
export interface HelpRequest {
  name: 'help';
  text: string;
}

export type ParsedCommandLine = Command | HelpRequest;

const HELP_ARGS = new Set(['-h', '-help', '--h', '--help']);

/**
 * `clusterwire [command] [flags]` → the command with typed options, or a
 * help request; throws UsageError for anything else. Pure: `argv` is
 * without the node and script paths, `env` is read for the flags only.
 */
export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedCommandLine {
  const [first] = argv;
  if (first !== undefined && HELP_ARGS.has(first)) return { name: 'help', text: topLevelHelp() };
  if (first === undefined || first.startsWith('-')) return parseCommand('run', argv, env);
  if (!isCommandName(first)) {
    throw new UsageError(`unknown command ${JSON.stringify(first)} (commands: ${Object.keys(COMMANDS).join(', ')}; see clusterwire --help)`);
  }
  return parseCommand(first, argv.slice(1), env);
}

function parseCommand<K extends CommandName>(name: K, args: readonly string[], env: Readonly<Record<string, string | undefined>>): Command<K> | HelpRequest {
  const spec = commandSpec(name);
  const scanned = scanFlags(args, spec.flags);
  if (scanned.kind === 'help') return { name: 'help', text: commandHelp(name) };
  const options = spec.options(flagReader(spec.flags, scanned.given, env));
  // TypeScript cannot see that { name: K, options: CommandOptions[K] } is the K member of the union.
  return { name, options } as Command<K>;
}
