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
import { pairedSeedDifference, pairsBySeed } from './paired.js';
import { configKey, headlineMetrics, readEstimate, type ResultSet } from './results.js';
import { ALPHA, MIN_RUNS_FOR_VERDICT, mannWhitney, mannWhitneyMinP, welchDifference } from './stats.js';

/** The figure a sentence leads with: the first of these the results have. */
const PRIMARY = ['commands_per_s', 'decisions_per_s', 'goodput_per_s', 'attempts_per_proposal', 'makespan_ms'];
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

type Verb = [singular: string, plural: string];

function verbFor(ratio: number, lowerIsBetter: boolean): Verb {
  if (lowerIsBetter) return [`needs ${formatNumber(ratio)}x`, `need ${formatNumber(ratio)}x`];
  if (ratio >= 1.1) return [`gains, to ${formatPercent(ratio)}`, `gain, to ${formatPercent(ratio)}`];
  if (ratio >= 0.9) return [`keeps ${formatPercent(ratio)}`, `keep ${formatPercent(ratio)}`];
  if (ratio >= 0.5) return [`falls to ${formatPercent(ratio)}`, `fall to ${formatPercent(ratio)}`];
  return [`collapses to ${formatPercent(ratio)}`, `collapse to ${formatPercent(ratio)}`];
}

const joinNames = (names: readonly string[]): string => (names.length === 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);

/**
 * "with 3 proposers, lease keeps 96% of its 1-proposer throughput; immediate
 * collapses to 6% with 12.8 attempts per proposal". Groups are the series
 * (the swept keys other than the proposer count and the x axis); with another
 * swept x, each group is taken at its best x.
 */
function scaling(set: ResultSet, lay: Layout, metric: string): string | null {
  if (!lay.swept.includes(FACET_COLUMN)) return null;
  const atBestX = lay.x !== null && lay.x !== FACET_COLUMN;
  const groupCols = lay.swept.filter((c) => c !== FACET_COLUMN && !(atBestX && c === lay.x));
  const lowerIsBetter = metricInfo(metric).better === 'lower';
  const better = (a: Row, b: Row): Row => ((lowerIsBetter ? value(a, metric) < value(b, metric) : value(a, metric) > value(b, metric)) ? a : b);
  // group -> proposer count -> its best row
  const groups = new Map<string, Map<number, Row>>();
  for (const r of set.rows) {
    if (!Number.isFinite(value(r, metric))) continue;
    const byP = groups.get(seriesName(r, groupCols)) ?? new Map<number, Row>();
    const p = Number(r[FACET_COLUMN]);
    const seen = byP.get(p);
    byP.set(p, seen === undefined ? r : better(r, seen));
    groups.set(seriesName(r, groupCols), byP);
  }
  // Groups that fare alike share one phrase: "fixed, leader and lease fall to 84%".
  const phrases = new Map<string, { score: number; names: string[]; verb: Verb; tail: string }>();
  let pLo = 0;
  let pHi = 0;
  for (const [name, byP] of groups) {
    const ps = [...byP.keys()].sort((a, b) => a - b);
    const lo = byP.get(ps[0] ?? Number.NaN);
    const hi = byP.get(ps[ps.length - 1] ?? Number.NaN);
    if (lo === undefined || hi === undefined || ps.length < 2) continue;
    [pLo, pHi] = [ps[0] ?? 0, ps[ps.length - 1] ?? 0];
    const ratio = value(hi, metric) / value(lo, metric);
    if (!Number.isFinite(ratio)) continue;
    const attempts = metric !== ATTEMPTS && present(set, ATTEMPTS) ? value(hi, ATTEMPTS) : Number.NaN;
    const tail = attempts >= 1.5 ? ` with ${formatNumber(attempts)} attempts per proposal` : '';
    const verb = verbFor(ratio, lowerIsBetter);
    const entry = phrases.get(`${verb[0]}${tail}`) ?? { score: lowerIsBetter ? -ratio : ratio, names: [], verb, tail };
    entry.names.push(groupCols.length === 0 ? 'it' : name);
    phrases.set(`${verb[0]}${tail}`, entry);
  }
  if (phrases.size === 0) return null;
  const ordered = [...phrases.values()].sort((a, b) => b.score - a.score);
  const shown = ordered.length <= GROUPS_MAX ? ordered : [...ordered.slice(0, GROUPS_MAX / 2), ...ordered.slice(-GROUPS_MAX / 2)];
  const texts = shown.map((p) => `${joinNames(p.names)} ${p.names.length === 1 ? p.verb[0] : p.verb[1]}`);
  const firstPlural = (shown[0]?.names.length ?? 1) > 1;
  const what = `${lowerIsBetter ? '' : 'of '}${firstPlural ? 'their' : 'its'} ${pLo}-proposer ${short(metric)}${shown[0]?.tail ?? ''}`;
  const rest = shown.slice(1).map((p, i) => `${texts[i + 1] ?? ''}${p.tail}`);
  const omitted = ordered.length > shown.length ? ` (${ordered.length - shown.length} more in the plots)` : '';
  const at = atBestX ? ` (each at its best ${lay.x})` : '';
  return `With ${pHi} proposers${at}, ${texts[0] ?? ''} ${what}${rest.length > 0 ? `; ${rest.join('; ')}` : ''}${omitted}.`;
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
  const rowsOf = (row: Row): Row[] => {
    const key = configKey(row, set.config_columns);
    return (set.samples ?? []).filter((s) => configKey(s, set.config_columns) === key);
  };
  if (pairsBySeed(set)) {
    const d = pairedSeedDifference(rowsOf(b), rowsOf(a), metric);
    if (d !== null) {
      return `The best two by ${short(metric)}, ${names}, are ${formatPercent(gap)} apart: ${d.excludesZero ? 'beyond' : 'within'} noise (paired over ${d.n} common seeds, the 95% interval of the difference ${d.excludesZero ? 'excludes' : 'includes'} 0).`;
    }
  }
  if (set.samples !== null) {
    const samples = (row: Row): number[] => rowsOf(row).map((s) => Number(s[metric])).filter(Number.isFinite);
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

/** Per group, the best value of the swept parameter and how far ahead of the worst it is (one phrase when all agree). */
function bestX(set: ResultSet, lay: Layout, metric: string): string | null {
  const x = lay.x;
  if (x === null || x === FACET_COLUMN || !lay.xNumeric) return null;
  const groupCols = lay.swept.filter((c) => c !== x);
  const groups = new Map<string, Row[]>();
  for (const r of set.rows) groups.set(configLabel(r, groupCols), [...(groups.get(configLabel(r, groupCols)) ?? []), r]);
  const higher = metricInfo(metric).better !== 'lower';
  const found: Array<{ name: string; top: Row; worst: Row; gain: number }> = [];
  for (const [name, rows] of groups) {
    const ok = rows.filter((r) => Number.isFinite(value(r, metric))).sort((a, b) => (higher ? value(b, metric) - value(a, metric) : value(a, metric) - value(b, metric)));
    const top = ok[0];
    const worst = ok[ok.length - 1];
    if (top === undefined || worst === undefined || ok.length < 2) continue;
    found.push({ name, top, worst, gain: Math.abs(value(top, metric) / value(worst, metric) - 1) });
  }
  if (found.length === 0) return null;
  const tops = new Set(found.map((f) => f.top[x]));
  const worsts = new Set(found.map((f) => f.worst[x]));
  const gains = found.map((f) => f.gain);
  const range = Math.min(...gains) === Math.max(...gains) ? formatPercent(gains[0] ?? 0) : `${formatPercent(Math.min(...gains))} to ${formatPercent(Math.max(...gains))}`;
  if (groupCols.length > 0 && tops.size === 1 && worsts.size === 1) {
    return `Best ${x} by ${short(metric)}: ${found[0]?.top[x]} in all ${found.length} groups (${groupCols.join(' x ')}), ${range} ${higher ? 'above' : 'below'} ${x}=${found[0]?.worst[x]}.`;
  }
  const parts = found.slice(0, GROUPS_MAX).map((f) => `${groupCols.length === 0 ? '' : `${f.name}: `}${x}=${f.top[x]} (${formatNumber(value(f.top, metric))}), ${formatPercent(f.gain)} ${higher ? 'above' : 'below'} ${x}=${f.worst[x]}`);
  return `Best ${x} by ${short(metric)}: ${parts.join('; ')}${found.length > GROUPS_MAX ? ` (${found.length - GROUPS_MAX} more groups in the plots)` : ''}.`;
}

/** Sentences for the first screen; `notes` are the tool's own (unsettled runs, livelock, heap). */
export function findings(set: ResultSet, notes: readonly string[] = []): string[] {
  const lay = layout(set);
  const headline = headlineMetrics(set);
  const primary = PRIMARY.find((m) => headline.includes(m) && present(set, m)) ?? headline.find((m) => present(set, m));
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
