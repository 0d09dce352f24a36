import { COMMANDS, commandSpec, type CommandName } from './commands.ts';
import type { FlagSpec } from './flags.ts';

const SYNTAX_NOTE = 'Flags may be written -flag value, -flag=value, --flag value or --flag=value; a flag beats its environment variable.';

/** `clusterwire --help`: the commands, then the daemon's flags since `run` is the default. */
export function topLevelHelp(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((name) => name.length));
  return [
    'clusterwire peers the nodes of this Kubernetes cluster with the nodes of remote clusters over WireGuard.',
    '',
    'Usage:',
    '  clusterwire [run] [flags]',
    '  clusterwire <command> [flags]',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${commandSpec(name).summary}`),
    '',
    "Run 'clusterwire <command> --help' for a command's flags.",
    '',
    'Flags of run:',
    ...flagLines(commandSpec('run').flags),
    '',
    SYNTAX_NOTE,
    '',
  ].join('\n');
}

/** `clusterwire <command> --help`. */
export function commandHelp(name: CommandName): string {
  const spec = commandSpec(name);
  const lines = [`Usage: clusterwire ${name}${spec.flags.length > 0 ? ' [flags]' : ''}`, '', spec.description, ''];
  if (spec.flags.length > 0) lines.push('Flags:', ...flagLines(spec.flags), '', SYNTAX_NOTE, '');
  return lines.join('\n');
}

/** Go's flag.PrintDefaults layout, with the variable next to each flag. */
function flagLines(flags: readonly FlagSpec<unknown>[]): string[] {
  return flags.flatMap((flag) => {
    // An empty default says nothing the description does not say better.
    const defaulted = flag.defaultText === null ? ['required'] : flag.defaultText === '' ? [] : [`default ${JSON.stringify(flag.defaultText)}`];
    const source = [...(flag.env === null ? [] : [`env ${flag.env}`]), ...defaulted].join('; ');
    return [`  -${flag.name}${flag.boolean ? '' : ` ${flag.valueName}`}`, `        ${flag.description}${source === '' ? '' : ` (${source})`}`];
  });
}
