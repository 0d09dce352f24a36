/** A figure over several runs: the median, with min and max so the spread is visible. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Every run's value, in run order. */
  values: number[];
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('cannot summarize no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, values: [...values] };
}

/** Nearest-rank percentile (p in (0, 100]): a value that was actually measured, never interpolated. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error(`cannot take percentile ${p} of no values`);
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] as number;
}

/** Per-run ratios a/b: each figure compared with the floor measured in the same run. */
export function ratios(numerators: readonly number[], denominators: readonly number[]): number[] {
  if (numerators.length !== denominators.length) throw new Error(`ratio of ${numerators.length} values to ${denominators.length}`);
  return numerators.map((n, i) => n / (denominators[i] as number));
}
