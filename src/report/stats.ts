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

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** What a table cell, a CSV row and an error bar show of repeated measurements of one figure. */
export interface Estimate {
  n: number;
  median: number;
  mean: number;
  min: number;
  max: number;
  /** The 95% t-interval of the mean (NaN below two samples). */
  ci95_lo: number;
  ci95_hi: number;
}

export function estimate(xs: readonly number[]): Estimate {
  const finite = xs.filter(Number.isFinite);
  const ci = meanCi95(finite);
  return {
    n: finite.length, median: median(finite), mean: ci.mean,
    min: finite.length === 0 ? Number.NaN : Math.min(...finite), max: finite.length === 0 ? Number.NaN : Math.max(...finite),
    ci95_lo: ci.lo, ci95_hi: ci.hi,
  };
}

/**
 * Two-sided significance level every verdict uses. The rank test below can
 * reach it only with enough runs: the smallest p of m against n runs is
 * 2 / C(m+n, m), so 3 against 3 (2/20 = 0.1) never can, 4 against 4
 * (2/70 = 0.029) can.
 */
export const ALPHA = 0.05;

/** C(n, k) as a float (exact for the small sizes used here). */
function choose(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

/** The smallest two-sided p-value a Mann-Whitney U test of m against n samples can give. */
export function mannWhitneyMinP(m: number, n: number): number {
  return m < 1 || n < 1 ? 1 : Math.min(1, 2 / choose(m + n, m));
}

/** The fewest runs per side (equal sizes) with which the rank test can reach ALPHA. */
export const MIN_RUNS_FOR_VERDICT = ((): number => {
  let n = 1;
  while (mannWhitneyMinP(n, n) >= ALPHA) n++;
  return n;
})();

/** Mid-ranks (1-based) of the pooled samples, ties sharing the mean of their ranks. */
function midRanks(pooled: readonly number[]): number[] {
  const order = pooled.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(pooled.length).fill(0);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && (order[j + 1] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]) j++;
    for (let k = i; k <= j; k++) ranks[(order[k] as readonly [number, number])[1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/** Splits up to this many are enumerated exactly (C(16, 8) = 12,870); beyond, the normal approximation. */
const EXACT_SPLITS_MAX = 20_000;

/**
 * Mann-Whitney U (Wilcoxon rank-sum) test, two-sided: no assumption of
 * normality, which run-to-run benchmark noise (skewed, with outliers) does not
 * meet. Exact by enumerating every split of the pooled ranks when that is
 * cheap (ties handled by mid-ranks), otherwise the normal approximation with
 * tie and continuity corrections.
 */
export function mannWhitney(a: readonly number[], b: readonly number[]): { u: number; p: number } {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return { u: Number.NaN, p: 1 };
  const ranks = midRanks([...a, ...b]);
  const rankSumA = ranks.slice(0, m).reduce((s, r) => s + r, 0);
  const u = rankSumA - (m * (m + 1)) / 2;
  const centre = (m * n) / 2;
  const observed = Math.abs(u - centre);
  if (choose(m + n, m) <= EXACT_SPLITS_MAX) {
    let extreme = 0;
    let total = 0;
    const visit = (start: number, left: number, sum: number): void => {
      if (left === 0) {
        total++;
        if (Math.abs(sum - (m * (m + 1)) / 2 - centre) >= observed - 1e-9) extreme++;
        return;
      }
      for (let i = start; i <= ranks.length - left; i++) visit(i + 1, left - 1, sum + (ranks[i] as number));
    };
    visit(0, m, 0);
    return { u, p: extreme / total };
  }
  const N = m + n;
  const counts = new Map<number, number>();
  for (const r of ranks) counts.set(r, (counts.get(r) ?? 0) + 1);
  let tieTerm = 0;
  for (const t of counts.values()) tieTerm += t * t * t - t;
  const variance = ((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { u, p: 1 };
  const z = Math.max(0, observed - 0.5) / Math.sqrt(variance);
  return { u, p: Math.min(1, 2 * (1 - normalCdf(z))) };
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26, error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t) * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * Welch's interval for mean(b) - mean(a) from summaries alone (mean, the
 * half-width of a 95% t-interval, n): what compare uses when a results folder
 * keeps only per-point means and intervals (simulator sweeps over seeds).
 */
export function welchDifference(a: { mean: number; ci95: number; n: number }, b: { mean: number; ci95: number; n: number }): Interval & { excludesZero: boolean } {
  const varOfMean = (s: { ci95: number; n: number }): number => (s.ci95 / tQuantile975(s.n - 1)) ** 2;
  const va = varOfMean(a);
  const vb = varOfMean(b);
  const d = b.mean - a.mean;
  const se = Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  const half = se === 0 ? 0 : tQuantile975(Math.max(1, Math.floor(df))) * se;
  const ok = Number.isFinite(half) && a.n >= 2 && b.n >= 2;
  return { n: Math.min(a.n, b.n), mean: d, ci95: ok ? half : Number.NaN, lo: d - half, hi: d + half, excludesZero: ok && (d - half > 0 || d + half < 0) };
}
