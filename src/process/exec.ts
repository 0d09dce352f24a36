import { execFile } from 'node:child_process';

/** The outcome of a command that exited 0. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin: how keys and large inputs reach `wg` and `ip`. */
  input?: string;
  timeoutMs?: number;
}

/** Runs external commands; the real one is `execCommand`, tests pass fakes. */
export type Runner = (file: string, args: readonly string[], options?: RunOptions) => Promise<CommandOutput>;

/** A failed command, with what is needed to understand it from a log line alone. */
export class CommandError extends Error {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(command: string, exitCode: number | null, stderr: string, cause?: unknown) {
    const why = exitCode === null ? 'did not finish' : `exited ${exitCode}`;
    super(`${command} ${why}${stderr ? `: ${stderr.trim()}` : ''}`, { cause });
    this.name = 'CommandError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** A bulk `wg set` can carry ~100 KB of arguments: errors keep the start, which names the command. */
const MAX_COMMAND_TEXT = 300;

function commandText(file: string, args: readonly string[]): string {
  const text = [file, ...args].join(' ');
  return text.length <= MAX_COMMAND_TEXT ? text : `${text.slice(0, MAX_COMMAND_TEXT)}… (${args.length} arguments)`;
}

/**
 * Runs a program with an argument array (never through a shell) and a
 * timeout. Arguments end up in error messages, so callers must never put a
 * secret in them: secrets go through `input`.
 */
export const execCommand: Runner = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const code = typeof error.code === 'number' ? error.code : null;
        const timedOut = error.killed === true && code === null;
        const detail = timedOut ? `timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms` : stderr;
        reject(new CommandError(commandText(file, args), code, detail || error.message, error));
      },
    );
    child.stdin?.on('error', () => {
      // EPIPE when the program exits before reading its input: the exit
      // status, reported above, is what tells the caller what went wrong.
    });
    child.stdin?.end(options.input ?? '');
  });
