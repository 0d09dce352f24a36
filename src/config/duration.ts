/**
 * Go's time.Duration text form (`30s`, `1m30s`, `1.5h`, `500ms`), because
 * semaphore-wireguard's config and flags are written in it. Values are
 * nanoseconds as bigint: exact, and the range check is Go's int64.
 */
export type DurationParseResult = { ok: true; nanoseconds: bigint } | { ok: false; reason: string };

const NANOSECONDS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const INT64_MAX = (1n << 63n) - 1n;


/** Parses like Go's time.ParseDuration, including a sign, fractions and the bare `0`. */
export function parseGoDuration(text: string): DurationParseResult {
  const invalid = (why: string): DurationParseResult => ({ ok: false, reason: `${why}; write it like 30s, 1m30s, 1h or 500ms` });
  const signed = /^[-+]/.test(text);
  const negative = text.startsWith('-');
  let rest = signed ? text.slice(1) : text;
  if (rest === '0') return { ok: true, nanoseconds: 0n };
  if (rest === '') return invalid('empty duration');
  let total = 0n;
  while (rest !== '') {
    const term = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/.exec(rest);
    const [matched = '', whole = '', fraction = '', unit = ''] = term ?? [];
    if (whole === '' && fraction === '') return invalid('expected a number');
    if (unit === '') return invalid(`missing unit after '${whole}${fraction === '' ? '' : `.${fraction}`}'`);
    const perUnit = NANOSECONDS_PER_UNIT[unit];
    if (perUnit === undefined) return invalid(`unknown unit '${unit}' (use ns, us, ms, s, m or h)`);
    const scale = 10n ** BigInt(fraction.length);
    total += BigInt(whole === '' ? '0' : whole) * perUnit + (BigInt(fraction === '' ? '0' : fraction) * perUnit) / scale;
    if (total > INT64_MAX + (negative ? 1n : 0n)) return invalid('out of range (Go durations stop at about 292 years)');
    rest = rest.slice(matched.length);
  }
  return { ok: true, nanoseconds: negative ? -total : total };
}

/** Formats like Go's Duration.String: `0s`, `500ms`, `1.5s`, `1m30s`, `1h0m0s`. */
export function formatGoDuration(nanoseconds: bigint): string {
  const sign = nanoseconds < 0n ? '-' : '';
  const value = nanoseconds < 0n ? -nanoseconds : nanoseconds;
  if (value === 0n) return '0s';
  if (value < 1_000n) return `${sign}${value}ns`;
  if (value < 1_000_000n) return `${sign}${withFraction(value, 1_000n)}µs`;
  if (value < 1_000_000_000n) return `${sign}${withFraction(value, 1_000_000n)}ms`;
  const hours = value / 3_600_000_000_000n;
  const minutes = (value / 60_000_000_000n) % 60n;
  const seconds = `${withFraction(value % 60_000_000_000n, 1_000_000_000n)}s`;
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

/** `value / unit` in decimal, without trailing zeros in the fraction. */
function withFraction(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const remainder = value % unit;
  if (remainder === 0n) return whole.toString();
  const digits = unit.toString().length - 1;
  return `${whole}.${remainder.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}
