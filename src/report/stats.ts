/**
 * Statistics for results people compare: percentiles, means, 95% confidence
 * intervals over repeats or seeds (Student's t), and paired differences over
 * common random numbers (the same seeds at two sweep points). Shared by the
 * benchmark's repeats and the simulator's sweeps, so both report alike.
 */

/** The p-th percentile (0..100) of an ascending array, nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n - 1); NaN below two values. */
export function stddev(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (then the normal's 1.96 is within 2%). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) return Number.NaN;
  if (df <= T975.length) return T975[df - 1] as number;
  if (df <= 60) return 2.0;
  if (df <= 120) return 1.98;
  return 1.96;
}

export interface Interval {
  n: number;
  mean: number;
  /** Half-width of the 95% confidence interval of the mean (NaN below two values). */
  ci95: number;
  lo: number;
  hi: number;
}

/** The mean with a 95% t-interval. */
export function meanCi95(xs: readonly number[]): Interval {
  const m = mean(xs);
  const half = xs.length < 2 ? Number.NaN : (tQuantile975(xs.length - 1) * stddev(xs)) / Math.sqrt(xs.length);
  return { n: xs.length, mean: m, ci95: half, lo: m - half, hi: m + half };
}

/**
 * Paired difference b - a over shared seeds (common random numbers): the
 * interval of the mean difference. `excludesZero` is the verdict "they differ".
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): Interval & { excludesZero: boolean } {
  if (a.length !== b.length) throw new RangeError(`paired samples differ in length (${a.length} vs ${b.length})`);
  const d = a.map((x, i) => (b[i] as number) - x);
  const ci = meanCi95(d);
  return { ...ci, excludesZero: Number.isFinite(ci.ci95) && (ci.lo > 0 || ci.hi < 0) };
}

/** Rounds for display and JSON: 3 significant decimals at most. */
export function round3(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}
