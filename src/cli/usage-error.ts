/** A command line clusterwire cannot run: exit code 2 and a one-line reason, as Go's flag package does. */
export class UsageError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'UsageError';
  }
}
