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
  // The causes' messages go into the message itself: a test runner prints
  // one level of `errors`, and a nested AggregateError would hide them.
  if (failures.length > 0) throw new AggregateError(failures, `${what} failed: ${failures.map(describe).join('; ')}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
