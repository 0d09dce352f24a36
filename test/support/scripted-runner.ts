import { CommandError, type CommandOutput, type RunOptions, type Runner } from '../../src/process/exec.ts';

export interface RecordedCall {
  file: string;
  args: readonly string[];
  options: RunOptions | undefined;
}

/**
 * A Runner for unit tests: records every call and answers from `respond`,
 * which returns stdout or throws (use `failure` for a failed command).
 */
export function scriptedRunner(respond: (file: string, args: readonly string[]) => string): { run: Runner; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const run: Runner = (file, args, options): Promise<CommandOutput> => {
    calls.push({ file, args, options });
    return Promise.resolve().then(() => ({ stdout: respond(file, args), stderr: '' }));
  };
  return { run, calls };
}

/** A command that exited `code` with `stderr`, as execCommand reports it. */
export function failure(file: string, args: readonly string[], code: number | null, stderr: string): CommandError {
  return new CommandError([file, ...args].join(' '), code, stderr);
}
