/**
 * An error and its causes on one line, for a results file: the bench's
 * errors say what failed at each level (which device, which daemon), the
 * innermost what actually went wrong (e.g. a timeout).
 */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(current.message);
    current = current.cause;
  }
  if (current !== undefined) parts.push(typeof current === 'string' ? current : JSON.stringify(current));
  return parts.join(': ').replace(/\s+/g, ' ').trim();
}
