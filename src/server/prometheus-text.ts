/**
 * The Prometheus text format (0.0.4), the little of it the device series
 * need: escaping and family headers. Pure.
 */

export type MetricType = 'counter' | 'gauge';

const NEEDS_ESCAPE = /[\\"\n]/;

/** A label value between double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  // The common case (keys, addresses) has nothing to escape: skip the replaces.
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `# HELP` and `# TYPE` of one family; HELP escapes backslash and line feed. */
export function familyHeader(name: string, help: string, type: MetricType): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}
