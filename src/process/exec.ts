import { spawn } from 'node:child_process';

/** The outcome of a command that exited 0. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin: how keys and large inputs reach `wg` and `ip`. */
  input?: string;
  /** Then SIGTERM; default 10 s. */
  timeoutMs?: number;
  /** How long after the SIGTERM a command that still runs gets SIGKILL; default 2 s. */
  killGraceMs?: number;
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
const DEFAULT_KILL_GRACE_MS = 2_000;
/** After SIGKILL, how long to wait for the exit before giving up on the command's output. */
const REAP_MS = 1_000;
/** A bulk `wg set` can carry ~100 KB of arguments: errors keep the start, which names the command. */
const MAX_COMMAND_TEXT = 300;
/** Far above `wg show dump` of 20,000 peers (~4 MB); a command that writes more is killed. */
const MAX_OUTPUT_CHARS = 64 * 1024 * 1024;

function commandText(file: string, args: readonly string[]): string {
  const text = [file, ...args].join(' ');
  return text.length <= MAX_COMMAND_TEXT ? text : `${text.slice(0, MAX_COMMAND_TEXT)}… (${args.length} arguments)`;
}

/**
 * Runs a program with an argument array (never through a shell) and a
 * timeout. Arguments end up in error messages, so callers must never put a
 * secret in them: secrets go through `input`.
 *
 * A command past its timeout gets SIGTERM, and SIGKILL after a grace if it
 * is still there: a hung `ip` or `wg` must not stall a pass for ever. The
 * signals go to the command's own process group, so what it started dies
 * with it; and if its output pipes still do not close, the call fails
 * anyway, shortly after the SIGKILL.
 */
export const execCommand: Runner = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    let sent: 'SIGTERM' | 'SIGKILL' | null = null;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const settle = () => {
      if (settled) return false;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      return true;
    };
    const fail = (exitCode: number | null, detail: string, cause?: unknown) => {
      if (settle()) reject(new CommandError(commandText(file, args), exitCode, detail, cause));
    };
    const timedOut = () => `timed out after ${timeoutMs} ms${sent === 'SIGKILL' ? `; still running ${graceMs} ms after SIGTERM, killed with SIGKILL` : ''}`;

    // detached: the command leads its own process group, which the signals below reach as a whole.
    const child = spawn(file, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const signal = (name: 'SIGTERM' | 'SIGKILL') => {
      sent = name;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, name);
      } catch {
        // Gone already: its exit is on its way.
      }
    };
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.length > MAX_OUTPUT_CHARS) {
        signal('SIGKILL');
        fail(null, `wrote more than ${MAX_OUTPUT_CHARS} characters of output`);
      }
    });
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_OUTPUT_CHARS) stderr += chunk;
    });
    child.on('error', (error) => fail(null, error.message, error));
    child.on('close', (code, exitSignal) => {
      if (sent !== null) fail(null, timedOut());
      else if (code === 0) {
        if (settle()) resolve({ stdout, stderr });
      } else fail(code, stderr || (exitSignal ? `killed by ${exitSignal}` : ''));
    });
    timers.push(
      setTimeout(() => signal('SIGTERM'), timeoutMs),
      setTimeout(() => signal('SIGKILL'), timeoutMs + graceMs),
      setTimeout(() => {
        // Something outside the group holds the pipes open: the command is dead, do not wait for them.
        child.stdout.destroy();
        child.stderr.destroy();
        fail(null, timedOut());
      }, timeoutMs + graceMs + REAP_MS),
    );
    child.stdin.on('error', () => {
      // EPIPE when the program exits before reading its input: the exit
      // status, reported above, is what tells the caller what went wrong.
    });
    child.stdin.end(options.input ?? '');
  });
