/**
 * The report's first screen: what the data say, in sentences generated from
 * the results ("with 3 proposers, lease keeps 96% of its 1-proposer
 * throughput; immediate collapses to 6% with 12.8 attempts per proposal"),
 * each qualified by how many samples stand behind it and whether the
 * difference it names is beyond noise.
 */
import { formatNumber, formatPercent } from './format.js';
import { FACET_COLUMN, configLabel, layout, seriesName, type Layout } from './layout.js';
import { metricInfo } from './metrics.js';
import { CI_SAMPLES_MIN } from './plots.js';
import { configKey, readEstimate, type ResultSet } from './results.js';
import { ALPHA, MIN_RUNS_FOR_VERDICT, mannWhitney, mannWhitneyMinP, welchDifference } from './stats.js';

/** The figure a sentence leads with: the first of these the results have. */
const PRIMARY = ['decisions_per_s', 'goodput_per_s', 'attempts_per_proposal', 'makespan_ms'];
const LATENCY = ['latency_us_p99', 'latency_ms_p99'];
const ATTEMPTS = 'attempts_per_proposal';
/** Sentences about groups stop here; the plots show the rest. */
const GROUPS_MAX = 6;

type Row = Record<string, string>;

const value = (row: Row, metric: string): number => readEstimate(row, metric).center;

function present(set: ResultSet, metric: string): boolean {
  return set.metric_columns.includes(metric) && set.rows.some((r) => Number.isFinite(value(r, metric)));
}

function short(metric: string): string {
  return metricInfo(metric).label.replace(/ \(.*\)$/, '');
}

function unit(metric: string): string {
  return /\(([^)]*)\)$/.exec(metricInfo(metric).label)?.[1] ?? '';
}

/** "with 3 proposers, lease keeps 96% of its 1-proposer throughput; immediate collapses to 6% with 12.8 attempts per proposal" */
function scaling(set: ResultSet, lay: Layout, metric: string): string | null {
  if (!lay.swept.includes(FACET_COLUMN)) return null;
  const groupCols = lay.swept.filter((c) => c !== FACET_COLUMN);
  const groups = new Map<string, Row[]>();
  for (const r of set.rows) groups.set(seriesName(r, groupCols), [...(groups.get(seriesName(r, groupCols)) ?? []), r]);
  const better = metricInfo(metric).better;
  const phrases: Array<{ score: number; text: string }> = [];
  let pLo = 0;
  let pHi = 0;
  for (const [name, rows] of groups) {
    const byP = rows.map((r) => [Number(r[FACET_COLUMN]), r] as const).sort((a, b) => a[0] - b[0]);
    const lo = byP[0];
    const hi = byP[byP.length - 1];
    if (lo === undefined || hi === undefined || lo[0] === hi[0]) continue;
    [pLo, pHi] = [lo[0], hi[0]];
    const ratio = value(hi[1], metric) / value(lo[1], metric);
    if (!Number.isFinite(ratio)) continue;
    const attempts = present(set, ATTEMPTS) ? value(hi[1], ATTEMPTS) : Number.NaN;
    const tail = attempts >= 1.5 ? ` with ${formatNumber(attempts)} attempts per proposal` : '';
    const who = groupCols.length === 0 ? 'it' : name;
    let text: string;
    if (better === 'lower') text = `${who} needs ${formatNumber(ratio)}x`;
    else if (ratio >= 1.1) text = `${who} gains, to ${formatPercent(ratio)}`;
    else if (ratio >= 0.9) text = `${who} keeps ${formatPercent(ratio)}`;
    else if (ratio >= 0.5) text = `${who} falls to ${formatPercent(ratio)}`;
    else text = `${who} collapses to ${formatPercent(ratio)}`;
    phrases.push({ score: better === 'lower' ? -ratio : ratio, text: `${text}${tail}` });
  }
  if (phrases.length === 0) return null;
  phrases.sort((a, b) => b.score - a.score);
  const shown = phrases.length <= GROUPS_MAX ? phrases : [...phrases.slice(0, GROUPS_MAX / 2), ...phrases.slice(-GROUPS_MAX / 2)];
  const [first, ...rest] = shown.map((p) => p.text);
  const what = better === 'lower' ? `the ${short(metric)} it has with ${pLo}` : `of its ${pLo}-proposer ${short(metric)}`;
  const omitted = phrases.length > shown.length ? ` (${phrases.length - shown.length} more in the plots)` : '';
  return `With ${pHi} proposers, ${first} ${what}${rest.length > 0 ? `; ${rest.join('; ')}` : ''}${omitted}.`;
}

function best(set: ResultSet, metric: string): Row | null {
  const higher = metricInfo(metric).better !== 'lower';
  let top: Row | null = null;
  for (const r of set.rows) {
    const v = value(r, metric);
    if (!Number.isFinite(v)) continue;
    if (top === null || (higher ? v > value(top, metric) : v < value(top, metric))) top = r;
  }
  return top;
}

function describeValue(row: Row, metric: string, center: string): string {
  const e = readEstimate(row, metric);
  // Every metric is at least 0; a t-interval of two samples is too wide to help, so it gives the range.
  const spread = e.n >= CI_SAMPLES_MIN && Number.isFinite(e.lo)
    ? `, ${center} of ${e.n}, 95% CI ${formatNumber(Math.max(0, e.lo))}-${formatNumber(e.hi)}`
    : e.n > 1 && Number.isFinite(e.min) ? `, ${center} of ${e.n}, range ${formatNumber(e.min)}-${formatNumber(e.max)}` : '';
  return `${formatNumber(e.center)} ${unit(metric)}${spread}`.replace(/ ,/, ',');
}

/** Are the best two configurations apart beyond noise? */
function topTwo(set: ResultSet, lay: Layout, metric: string): string | null {
  const higher = metricInfo(metric).better !== 'lower';
  const ranked = set.rows.filter((r) => Number.isFinite(value(r, metric))).sort((a, b) => (higher ? value(b, metric) - value(a, metric) : value(a, metric) - value(b, metric)));
  const [a, b] = ranked;
  if (a === undefined || b === undefined) return null;
  const gap = Math.abs(value(a, metric) / value(b, metric) - 1);
  const names = `${configLabel(a, lay.swept)} and ${configLabel(b, lay.swept)}`;
  if (set.samples !== null) {
    const samples = (row: Row): number[] => {
      const key = configKey(row, set.config_columns);
      return (set.samples ?? []).filter((s) => configKey(s, set.config_columns) === key).map((s) => Number(s[metric])).filter(Number.isFinite);
    };
    const xs = samples(a);
    const ys = samples(b);
    if (mannWhitneyMinP(xs.length, ys.length) >= ALPHA) {
      return `The best two by ${short(metric)}, ${names}, are ${formatPercent(gap)} apart; with ${xs.length} run${xs.length === 1 ? '' : 's'} each no rank test can call that beyond noise (it needs ${MIN_RUNS_FOR_VERDICT} per configuration: --repeat ${MIN_RUNS_FOR_VERDICT}).`;
    }
    const { p } = mannWhitney(xs, ys);
    return `The best two by ${short(metric)}, ${names}, are ${formatPercent(gap)} apart: ${p < ALPHA ? 'beyond' : 'within'} run-to-run noise (Mann-Whitney p=${p.toFixed(3)}, ${xs.length} vs ${ys.length} runs).`;
  }
  const ea = readEstimate(a, metric);
  const eb = readEstimate(b, metric);
  if (ea.n < 2 || eb.n < 2) return null;
  const d = welchDifference({ mean: ea.mean, ci95: (ea.hi - ea.lo) / 2, n: ea.n }, { mean: eb.mean, ci95: (eb.hi - eb.lo) / 2, n: eb.n });
  return `The best two by ${short(metric)}, ${names}, are ${formatPercent(gap)} apart: ${d.excludesZero ? 'beyond' : 'within'} noise (the 95% interval of the difference ${d.excludesZero ? 'excludes' : 'includes'} 0).`;
}

/** Per group, the best value of the swept parameter and how far ahead of the worst it is. */
function bestX(set: ResultSet, lay: Layout, metric: string): string | null {
  const x = lay.x;
  if (x === null || x === FACET_COLUMN || !lay.xNumeric) return null;
  const groupCols = lay.swept.filter((c) => c !== x);
  const groups = new Map<string, Row[]>();
  for (const r of set.rows) groups.set(configLabel(r, groupCols), [...(groups.get(configLabel(r, groupCols)) ?? []), r]);
  const higher = metricInfo(metric).better !== 'lower';
  const parts: string[] = [];
  for (const [name, rows] of [...groups].slice(0, GROUPS_MAX)) {
    const ok = rows.filter((r) => Number.isFinite(value(r, metric))).sort((a, b) => (higher ? value(b, metric) - value(a, metric) : value(a, metric) - value(b, metric)));
    const top = ok[0];
    const worst = ok[ok.length - 1];
    if (top === undefined || worst === undefined || ok.length < 2) continue;
    const ratio = value(top, metric) / value(worst, metric);
    parts.push(`${groupCols.length === 0 ? '' : `${name}: `}${x}=${top[x]} (${formatNumber(value(top, metric))}), ${formatPercent(Math.abs(ratio - 1))} ${higher ? 'above' : 'below'} ${x}=${worst[x]}`);
  }
  return parts.length === 0 ? null : `Best ${x} by ${short(metric)}: ${parts.join('; ')}${groups.size > GROUPS_MAX ? ` (${groups.size - GROUPS_MAX} more groups in the plots)` : ''}.`;
}

/** Sentences for the first screen; `notes` are the tool's own (unsettled runs, livelock, heap). */
export function findings(set: ResultSet, notes: readonly string[] = []): string[] {
  const lay = layout(set);
  const primary = PRIMARY.find((m) => present(set, m)) ?? set.metric_columns.find((m) => present(set, m));
  const out: string[] = [];
  if (primary !== undefined) {
    out.push(scaling(set, lay, primary) ?? '', bestX(set, lay, primary) ?? '');
    const top = best(set, primary);
    if (top !== null && set.rows.length > 1) out.push(`Best ${short(primary)}: ${configLabel(top, lay.swept)}, ${describeValue(top, primary, set.center)}.`);
    const latency = LATENCY.find((m) => present(set, m));
    const fastest = latency === undefined ? null : best(set, latency);
    if (latency !== undefined && fastest !== null && set.rows.length > 1) out.push(`Lowest ${short(latency)}: ${configLabel(fastest, lay.swept)}, ${describeValue(fastest, latency, set.center)}.`);
    if (set.rows.length > 1) out.push(topTwo(set, lay, primary) ?? '');
    if (set.rows.length === 1 && top !== null) out.push(`${short(primary)}: ${describeValue(top, primary, set.center)}.`);
  }
  return [...out.filter((s) => s !== ''), ...notes];
}
