import { UsageError } from './usage-error.ts';

export type FlagValueResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** One flag: its name, its environment variable, its default and how its text is read. */
export interface FlagSpec<T> {
  /** Without dashes: `clusters-config`. */
  name: string;
  /** Every daemon flag has one (semaphore-wireguard's); kubectl-style flags of `connect` mostly do not. */
  env: string | null;
  /** Go's boolean flag: `-dry-run` alone means true, `-dry-run=false` is the only way to give a value. */
  boolean?: true;
  /** Placeholder in help: `-clusters-config path`. */
  valueName: string;
  description: string;
  /** Read like a value the user typed; null makes the flag required. */
  defaultText: string | null;
  parse(text: string): FlagValueResult<T>;
}

/** Resolves one flag: command line, else environment, else default. */
export type FlagReader = <T>(flag: FlagSpec<T>) => T;

export type ScannedFlags = { kind: 'help' } | { kind: 'values'; given: ReadonlyMap<string, string> };

const HELP_FLAGS = new Set(['h', 'help']);

/**
 * Go's flag syntax: `-flag value`, `-flag=value`, `--flag value`,
 * `--flag=value`; a non-boolean flag takes the next argument whatever it
 * looks like, a boolean flag none; the last occurrence wins; `--` ends the flags. No positional
 * arguments are accepted. `-h`/`-help` asks for help, as in Go.
 */
export function scanFlags(args: readonly string[], known: readonly FlagSpec<unknown>[]): ScannedFlags {
  const given = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      const extra = args[i + 1];
      if (extra !== undefined) throw unexpected(extra);
      break;
    }
    if (arg.length < 2 || !arg.startsWith('-')) throw unexpected(arg);
    const body = arg.slice(arg.startsWith('--') ? 2 : 1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new UsageError(`bad flag syntax: ${arg}`);
    const equals = body.indexOf('=');
    const name = equals < 0 ? body : body.slice(0, equals);
    if (HELP_FLAGS.has(name)) return { kind: 'help' };
    if (!known.some((flag) => flag.name === name)) throw new UsageError(`flag provided but not defined: -${name}`);
    if (equals >= 0) given.set(name, body.slice(equals + 1));
    else if (known.find((flag) => flag.name === name)?.boolean) given.set(name, 'true');
    else {
      const value = args[i + 1];
      if (value === undefined) throw new UsageError(`flag needs an argument: -${name}`);
      given.set(name, value);
      i++;
    }
  }
  return { kind: 'values', given };
}

/**
 * A reader over scanned flags and the environment. An empty variable counts
 * as unset (Kubernetes renders optional env values as ""); an empty flag
 * value is taken as given, as Go does, and its parser judges it.
 */
export function flagReader(
  known: readonly FlagSpec<unknown>[],
  given: ReadonlyMap<string, string>,
  env: Readonly<Record<string, string | undefined>>,
): FlagReader {
  return <T>(flag: FlagSpec<T>): T => {
    if (!known.includes(flag)) throw new Error(`flag -${flag.name} is read but not declared by its command`);
    const fromFlag = given.get(flag.name);
    const fromEnv = flag.env === null ? undefined : env[flag.env];
    let text: string;
    let source: string;
    if (fromFlag !== undefined) [text, source] = [fromFlag, `flag -${flag.name}`];
    else if (fromEnv !== undefined && fromEnv !== '') [text, source] = [fromEnv, `${flag.env} (-${flag.name})`];
    else if (flag.defaultText !== null) [text, source] = [flag.defaultText, `the default of -${flag.name}`];
    else throw new UsageError(`-${flag.name}${flag.env === null ? '' : ` (or ${flag.env})`} is required`);
    const parsed = flag.parse(text);
    if (!parsed.ok) throw new UsageError(`invalid value ${JSON.stringify(text)} for ${source}: ${parsed.reason}`);
    return parsed.value;
  };
}

function unexpected(arg: string): UsageError {
  return new UsageError(`unexpected argument ${JSON.stringify(arg)}: flags start with '-' and the command comes first (clusterwire <command> [flags])`);
}

/** Go's strconv.ParseBool, as its flag package reads `-flag=value`. */
export function parseBoolean(text: string): FlagValueResult<boolean> {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return { ok: true, value: true };
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return { ok: true, value: false };
  return { ok: false, reason: 'must be true or false' };
}
