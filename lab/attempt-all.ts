/**
 * Runs every clean-up step even when some fail, then reports the failures
 * together: a half-torn-down lab is worse than an error that names all
 * that could not be removed.
 */
export async function attemptAll(what: string, steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${what} failed`);
}
