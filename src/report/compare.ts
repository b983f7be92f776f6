/**
 * `compare A B`: two results folders (bench runs or simulator sweeps), rows
 * matched by their configuration columns, each metric's ratio B/A with a
 * verdict that accounts for noise, and a failure past `--fail-above P%` in
 * the metric's bad direction (so it can guard a regression in CI).
 *
 * The test: with per-seed rows on both sides (simulator sweeps: the same
 * seed is the same randomness, common random numbers), the 95% t-interval of
 * the mean paired difference over the seeds both sides ran; with other
 * per-sample rows on both sides (the bench's repeats), a two-sided
 * Mann-Whitney U test at ALPHA, which cannot reach it below
 * MIN_RUNS_FOR_VERDICT runs per side (then the verdict says so); with only
 * per-point means and 95% intervals, Welch's interval of the difference of
 * means.
 */
import { directionOf, metricInfo } from './metrics.js';
import { configKey, readEstimate, ResultsError, type ResultSet } from './results.js';
import { pairedSeedDifference, pairsBySeed, sampleValue } from './paired.js';
import { ALPHA, MIN_RUNS_FOR_VERDICT, mannWhitney, mannWhitneyMinP, welchDifference } from './stats.js';
import { formatNumber } from './format.js';

export interface CompareOptions {
  /** Fail (exit 1) when a metric is worse by more than this percentage; null: never. */
  failAbove_pct: number | null;
  /** Only these metrics (null: every metric both folders have). */
  metrics: readonly string[] | null;
  /** Configuration columns left out of the match (to compare across them, e.g. policy). */
  ignore: readonly string[];
}

export type Verdict = 'better' | 'worse' | 'same' | 'differs' | 'undecided';

export interface MetricComparison {
  /** The configuration, by the columns that vary among the matched rows. */
  config: string;
  metric: string;
  a: number;
  b: number;
  /** b / a (NaN when a is 0). */
  ratio: number;
  verdict: Verdict;
  /** The test's own words: "p=0.029", "n=3 vs 3: ...". */
  evidence: string;
  /** Worse past --fail-above. */
  failed: boolean;
}

export interface CompareResult {
  comparisons: MetricComparison[];
  /** The text to print. */
  lines: string[];
  exitCode: 0 | 1;
}

function checkCompatible(a: ResultSet, b: ResultSet): void {
  if (a.schema_version !== b.schema_version) {
    throw new ResultsError(
      `A (${a.dir}) has results schema ${a.schema_version}, B (${b.dir}) has ${b.schema_version}: metrics were renamed or redefined between them (CHANGELOG.md); measure both with one version`,
    );
  }
  if (a.tool !== b.tool) throw new ResultsError(`A (${a.dir}) was written by ${a.tool}, B (${b.dir}) by ${b.tool}: their metrics are not comparable`);
}

function indexRows(set: ResultSet, columns: readonly string[], side: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const row of set.rows) {
    const key = configKey(row, columns);
    if (out.has(key)) throw new ResultsError(`${side} (${set.dir}) has two rows with ${key || 'the same configuration'}: the columns left to match on do not tell them apart`);
    out.set(key, row);
  }
  return out;
}

function samplesByKey(set: ResultSet, columns: readonly string[]): Map<string, Array<Record<string, string>>> | null {
  if (set.samples === null) return null;
  const out = new Map<string, Array<Record<string, string>>>();
  for (const row of set.samples) {
    const key = configKey(row, columns);
    out.set(key, [...(out.get(key) ?? []), row]);
  }
  return out;
}

/** Columns whose values never coincide between A and B: why nothing matched. */
function differingColumns(a: ResultSet, b: ResultSet, columns: readonly string[]): string[] {
  return columns.flatMap((c) => {
    const va = new Set(a.rows.map((r) => r[c] ?? ''));
    const vb = [...new Set(b.rows.map((r) => r[c] ?? ''))];
    return vb.some((v) => va.has(v)) ? [] : [`${c} (A: ${[...va].join('|')}, B: ${vb.join('|')})`];
  });
}

interface Judged {
  verdict: Verdict;
  evidence: string;
}

/** The paired difference b - a over the seeds both sides ran; null when fewer than two pairs. */
function pairedJudge(metric: string, sa: ReadonlyArray<Record<string, string>>, sb: ReadonlyArray<Record<string, string>>): Judged | null {
  const d = pairedSeedDifference(sa, sb, metric);
  if (d === null) return null;
  return { verdict: d.excludesZero ? 'differs' : 'same', evidence: `paired diff ${formatNumber(d.mean)} +- ${formatNumber(Number.isFinite(d.ci95) ? d.ci95 : 0)} over ${d.n} seeds` };
}

/** Do A and B differ beyond noise? 'differs' for now; the caller turns it into better or worse. */
function judge(
  metric: string, rowA: Record<string, string>, rowB: Record<string, string>,
  sa: Array<Record<string, string>> | undefined, sb: Array<Record<string, string>> | undefined, paired: boolean,
): Judged {
  if (paired && sa !== undefined && sb !== undefined) {
    const p = pairedJudge(metric, sa, sb);
    if (p !== null) return p;
  }
  if (sa !== undefined && sb !== undefined) {
    const xs = sampleValues(sa, metric);
    const ys = sampleValues(sb, metric);
    if (mannWhitneyMinP(xs.length, ys.length) >= ALPHA) {
      return { verdict: 'undecided', evidence: `n=${xs.length} vs ${ys.length}: too few runs for the rank test (needs ${MIN_RUNS_FOR_VERDICT} per side)` };
    }
    const { p } = mannWhitney(xs, ys);
    return { verdict: p < ALPHA ? 'differs' : 'same', evidence: `p=${p < 0.001 ? p.toExponential(1) : p.toFixed(3)}` };
  }
  const ea = readEstimate(rowA, metric);
  const eb = readEstimate(rowB, metric);
  if (ea.n < 2 || eb.n < 2 || !Number.isFinite(ea.hi - ea.lo) || !Number.isFinite(eb.hi - eb.lo)) {
    return { verdict: 'undecided', evidence: `n=${ea.n} vs ${eb.n}: no interval to judge by` };
  }
  const d = welchDifference({ mean: ea.mean, ci95: (ea.hi - ea.lo) / 2, n: ea.n }, { mean: eb.mean, ci95: (eb.hi - eb.lo) / 2, n: eb.n });
  return { verdict: d.excludesZero ? 'differs' : 'same', evidence: `diff ${formatNumber(d.mean)} +- ${formatNumber(d.ci95)} (95%)` };
}

/** A metric's raw values over the samples (an empty cell is no value, not 0). */
function sampleValues(rows: ReadonlyArray<Record<string, string>>, metric: string): number[] {
  return rows.map((r) => sampleValue(r, metric)).filter(Number.isFinite);
}

export function compareResults(a: ResultSet, b: ResultSet, opts: CompareOptions): CompareResult {
  checkCompatible(a, b);
  const inB = new Set(b.config_columns);
  const columns = a.config_columns.filter((c) => inB.has(c) && !opts.ignore.includes(c));
  const rowsA = indexRows(a, columns, 'A');
  const rowsB = indexRows(b, columns, 'B');
  const matched = [...rowsA.keys()].filter((k) => rowsB.has(k));
  if (matched.length === 0) {
    const why = differingColumns(a, b, columns);
    throw new ResultsError(`no configuration in common${why.length > 0 ? `; they differ in ${why.join(', ')}: pass --ignore ${why.map((w) => w.split(' ')[0]).join(',')} to compare across` : ''}`);
  }
  const metricsB = new Set(b.metric_columns);
  const metrics = a.metric_columns.filter((m) => metricsB.has(m) && (opts.metrics === null || opts.metrics.includes(m)));
  const unknown = (opts.metrics ?? []).filter((m) => !metrics.includes(m));
  if (unknown.length > 0) throw new ResultsError(`--metrics: ${unknown.join(', ')} not in both folders (they have ${metrics.length > 0 ? a.metric_columns.filter((m) => metricsB.has(m)).join(', ') : 'no metric in common'})`);
  const samplesA = samplesByKey(a, columns);
  const samplesB = samplesByKey(b, columns);
  const varying = columns.filter((c) => new Set(matched.map((k) => rowsA.get(k)?.[c])).size > 1);
  const labelOf = (key: string): string => {
    const row = rowsA.get(key) ?? {};
    return varying.length === 0 ? 'every configuration column equal' : varying.map((c) => `${c}=${row[c] ?? ''}`).join(' ');
  };
  const comparisons: MetricComparison[] = [];
  for (const key of matched) {
    const rowA = rowsA.get(key) as Record<string, string>;
    const rowB = rowsB.get(key) as Record<string, string>;
    for (const metric of metrics) {
      const va = readEstimate(rowA, metric).center;
      const vb = readEstimate(rowB, metric).center;
      if (!Number.isFinite(va) && !Number.isFinite(vb)) continue;
      const judged = judge(metric, rowA, rowB, samplesA?.get(key), samplesB?.get(key), pairsBySeed(a) && pairsBySeed(b));
      comparisons.push(finish(labelOf(key), metric, va, vb, judged, opts.failAbove_pct));
    }
  }
  const lines = render(a, b, matched.map(labelOf), rowsA, rowsB, comparisons, opts);
  return { comparisons, lines, exitCode: comparisons.some((c) => c.failed) ? 1 : 0 };
}

function finish(config: string, metric: string, a: number, b: number, judged: Judged, failAbove_pct: number | null): MetricComparison {
  const info = metricInfo(metric);
  const ratio = a === 0 ? Number.NaN : b / a;
  const better = directionOf(metric);
  let verdict = judged.verdict;
  if (verdict === 'differs' && better !== null && !info.environment) verdict = (b > a) === (better === 'higher') ? 'better' : 'worse';
  const worsePct = better === null || !Number.isFinite(ratio) ? 0 : better === 'higher' ? (1 - ratio) * 100 : (ratio - 1) * 100;
  // A guard fails on a change past the threshold unless the test calls it noise; with too few
  // samples for a verdict it judges the point estimate (and says so).
  const failed = failAbove_pct !== null && !info.environment && worsePct > failAbove_pct && verdict !== 'same' && verdict !== 'better';
  return { config, metric, a, b, ratio, verdict, evidence: judged.evidence, failed };
}

function verdictText(c: MetricComparison): string {
  const pct = Number.isFinite(c.ratio) ? `${Math.abs((c.ratio - 1) * 100).toFixed(1)}%` : 'n/a';
  switch (c.verdict) {
    case 'better':
      return `better by ${pct} (${c.evidence})`;
    case 'worse':
      return `WORSE by ${pct} (${c.evidence})`;
    case 'differs':
      return `differs by ${pct} (${c.evidence})`;
    case 'same':
      return `within noise (${c.evidence})`;
    case 'undecided':
      return `? ${c.evidence}`;
  }
}

function render(
  a: ResultSet, b: ResultSet, labels: readonly string[],
  rowsA: Map<string, unknown>, rowsB: Map<string, unknown>,
  comparisons: readonly MetricComparison[], opts: CompareOptions,
): string[] {
  const describe = (s: ResultSet): string => `${s.dir} (${s.tool}, schema ${s.schema_version}${typeof s.args.commit === 'string' ? `, commit ${s.args.commit}` : ''}, ${s.rows.length} configuration${s.rows.length === 1 ? '' : 's'})`;
  const lines = [`A: ${describe(a)}`, `B: ${describe(b)}`];
  lines.push(pairsBySeed(a) && pairsBySeed(b)
    ? `test: 95% t-interval of the mean paired difference over the seeds both ran (common random numbers)`
    : a.samples !== null && b.samples !== null
      ? `test: Mann-Whitney U on the runs of each configuration, two-sided, p < ${ALPHA} (needs at least ${MIN_RUNS_FOR_VERDICT} runs per side)`
      : `test: Welch's 95% interval of the difference of means (from each point's mean and interval)`);
  const only = (x: Map<string, unknown>, y: Map<string, unknown>): number => [...x.keys()].filter((k) => !y.has(k)).length;
  for (const [side, n] of [['A', only(rowsA, rowsB)], ['B', only(rowsB, rowsA)]] as const) {
    if (n > 0) lines.push(`only in ${side} (not compared): ${n} configuration${n === 1 ? '' : 's'}`);
  }
  const width = Math.max(6, ...comparisons.map((c) => c.metric.length));
  for (const label of labels) {
    lines.push('', label, `  ${'metric'.padEnd(width)}  ${'A'.padStart(10)}  ${'B'.padStart(10)}  ${'B/A'.padStart(6)}  verdict`);
    for (const c of comparisons.filter((x) => x.config === label)) {
      const ratio = Number.isFinite(c.ratio) ? c.ratio.toFixed(3) : '-';
      lines.push(`  ${c.metric.padEnd(width)}  ${formatNumber(c.a).padStart(10)}  ${formatNumber(c.b).padStart(10)}  ${ratio.padStart(6)}  ${verdictText(c)}${metricInfo(c.metric).environment ? ' [machine]' : ''}`);
    }
  }
  const count = (v: Verdict): number => comparisons.filter((c) => c.verdict === v).length;
  lines.push('', `${comparisons.length} comparisons: ${count('better')} better, ${count('worse')} worse, ${count('same')} within noise, ${count('differs')} different (no better direction), ${count('undecided')} without a verdict`);
  if (count('undecided') > 0) lines.push('without a verdict: too few samples; --fail-above then judges the change itself');
  if (opts.failAbove_pct !== null) {
    const failed = comparisons.filter((c) => c.failed);
    lines.push(failed.length === 0
      ? `ok: no metric worse by more than ${opts.failAbove_pct}%`
      : `FAIL: ${failed.length} worse by more than ${opts.failAbove_pct}%: ${failed.map((c) => `${c.metric} at ${c.config} (B/A ${c.ratio.toFixed(3)})`).join('; ')}`);
  }
  return lines;
}
