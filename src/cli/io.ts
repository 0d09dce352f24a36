/** Where a command writes; the real ones are process.stdout and process.stderr. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Process exit codes; 1 and 2 mean what semaphore-wireguard users expect from a Go program. */
export const ExitCode = {
  ok: 0,
  /** A clusters config that cannot be used (every problem listed). */
  badConfig: 1,
  /** Anything unexpected, printed in full. */
  failed: 1,
  /** A missing, unknown or malformed flag. */
  usage: 2,
  /** The command exists but does nothing yet. */
  notImplemented: 3,
} as const;
