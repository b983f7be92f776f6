/**
 * The report's plots as plain data (specs the page turns into Observable Plot
 * charts): each plotted metric against the swept parameter, one series per
 * combination of the other swept keys, small multiples per proposer count,
 * error bars from repeats or seeds; latency by percentile on log axes; and,
 * for the bench, throughput over time.
 */
import { metricInfo } from './metrics.js';
import { FACET_COLUMN, configLabel, distinct, layout, seriesName, type Layout } from './layout.js';
import { batchedRuns, headlineMetrics, readEstimate, type ResultSet, type Row } from './results.js';

type Datum = Record<string, string | number | null>;

export interface AxisSpec {
  field: string;
  label: string;
  type: 'linear' | 'log' | 'point';
  /** Explicit ticks with their labels (the percentile axis). */
  ticks?: number[];
  tickLabels?: Record<string, string>;
}

export interface MarkSpec {
  kind: 'line' | 'dot' | 'range';
  y?: string;
  y1?: string;
  y2?: string;
  strokeWidth?: number;
  opacity?: number;
}

export interface PlotSpec {
  id: string;
  title: string;
  caption: string;
  data: Datum[];
  x: AxisSpec;
  y: { label: string; type: 'linear' | 'log' };
  /** Colour by this field (with a legend); null: one series. */
  series: { field: string; label: string; domain: string[] } | null;
  facet: { field: string; label: string } | null;
  marks: MarkSpec[];
  width: number;
  height: number;
}

/** A latency distribution: [percentile 0..100, value] breakpoints, per configuration. */
export interface CdfSeries {
  config: Row;
  points: Array<[number, number]>;
}

/** Throughput (or any rate) over time for one run of a configuration. */
export interface TimeSeries {
  config: Row;
  step_s: number;
  values: number[];
}

const PANEL_WIDTH = 320;
/** Confidence intervals are drawn from this many samples on. */
export const CI_SAMPLES_MIN = 3;

function width(panels: number): number {
  return Math.min(1320, Math.max(640, panels * PANEL_WIDTH + 80));
}

/** Log when the positive values span more than a decade and a half. */
function wantsLog(values: readonly number[]): boolean {
  const pos = values.filter((v) => v > 0);
  return pos.length === values.length && pos.length > 1 && Math.max(...pos) / Math.min(...pos) >= 30;
}

function cellOf(row: Readonly<Record<string, string>>, column: string, numeric: boolean): string | number | null {
  const raw = row[column] ?? '';
  if (raw === '') return null;
  return numeric ? Number(raw) : raw;
}

/** Series names in reading order: numbers by value (1, 2, 10), the rest alphabetically. */
export function sortNames(names: Iterable<string>): string[] {
  return [...new Set(names)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

function seriesSpec(lay: Layout, data: readonly Datum[]): PlotSpec['series'] {
  return lay.series.length === 0 ? null : { field: 'series', label: lay.series.join(', '), domain: sortNames(data.map((d) => String(d.series))) };
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The swept values themselves as ticks when there are few (1, 2, 3 proposers; not 1.2, 1.4). */
function xAxis(field: string, numeric: boolean, xs: readonly number[]): AxisSpec {
  if (!numeric) return { field: 'x', label: field, type: 'point' };
  const values = [...new Set(xs)].sort((a, b) => a - b);
  const axis: AxisSpec = { field: 'x', label: field, type: wantsLog(xs) ? 'log' : 'linear' };
  if (values.length <= 12) {
    axis.ticks = values;
    axis.tickLabels = Object.fromEntries(values.map((v) => [String(v), String(v)]));
  }
  return axis;
}

/** One metric against the swept parameter. */
function metricPlot(set: ResultSet, lay: Layout, metric: string): PlotSpec | null {
  if (lay.x === null) return null;
  const info = metricInfo(metric);
  const x = lay.x;
  const data: Datum[] = [];
  for (const row of set.rows) {
    const e = readEstimate(row, metric);
    if (!Number.isFinite(e.center)) continue;
    // Every metric is at least 0, so an interval's end below 0 (few samples, wide t) stops at 0;
    // on a log axis, where 0 cannot be drawn, at the smallest value seen.
    const floor = (v: number): number | null => {
      if (info.log === true) return finiteOrNull(v > 0 ? v : e.min > 0 ? e.min : Number.NaN);
      return finiteOrNull(Math.max(0, v));
    };
    data.push({
      x: cellOf(row, x, lay.xNumeric), series: seriesName(row, lay.series), facet: lay.facet === null ? null : cellOf(row, lay.facet, true),
      y: e.center, min: floor(e.min), max: finiteOrNull(e.max), n: e.n, config: configLabel(row, lay.swept),
      lo: e.n >= CI_SAMPLES_MIN ? floor(e.lo) : null, hi: e.n >= CI_SAMPLES_MIN ? finiteOrNull(e.hi) : null,
    });
  }
  if (data.length === 0) return null;
  if (lay.xNumeric) data.sort((a, b) => (a.x as number) - (b.x as number));
  const xs = data.map((d) => d.x).filter((v): v is number => typeof v === 'number');
  const series = seriesSpec(lay, data);
  const repeated = data.some((d) => (d.n as number) > 1);
  // The t-interval of two samples (t = 12.7) is wider than anything else on the axis: shown from three on.
  const withCi = data.some((d) => (d.n as number) >= CI_SAMPLES_MIN);
  const marks: MarkSpec[] = [];
  if (repeated) marks.push({ kind: 'range', y1: 'min', y2: 'max', strokeWidth: 1, opacity: 0.7 });
  if (withCi) marks.push({ kind: 'range', y1: 'lo', y2: 'hi', strokeWidth: 5, opacity: 0.3 });
  if (lay.xNumeric) marks.push({ kind: 'line', y: 'y', strokeWidth: 1.5 });
  marks.push({ kind: 'dot', y: 'y' });
  const panels = lay.facet === null ? 1 : distinct(set.rows, lay.facet).length;
  const center = set.center === 'median' ? 'median' : 'mean';
  return {
    id: `metric-${metric}`,
    title: `${info.label} against ${x}`,
    caption: `${center} of ${repeated ? 'the samples behind each point' : 'one sample per point'}${repeated ? '; thin bar: min to max' : ''}${withCi ? `; thick bar: 95% confidence interval of the mean (from ${CI_SAMPLES_MIN} samples on)` : ''}${lay.facet === null ? '' : `; one panel per ${lay.facet} count`}${info.better === null ? '' : `; ${info.better} is better`}`,
    data,
    x: xAxis(x, lay.xNumeric, xs),
    y: { label: info.label, type: info.log === true ? 'log' : 'linear' },
    series, facet: lay.facet === null ? null : { field: 'facet', label: lay.facet }, marks,
    width: width(panels), height: 300,
  };
}

/** Percentile p as 1 / (1 - p): p50, p90, p99, p99.9 evenly spaced on a log axis (HdrHistogram's percentile plot). */
const NINES = [50, 90, 99, 99.9, 99.99, 99.999];
const ninesX = (p: number): number => 1 / (1 - p / 100);

/** Distributions and time lines: one panel per proposer count whenever it was swept (it is never their x). */
function byProposers(lay: Layout): Layout {
  const facet = lay.swept.includes(FACET_COLUMN) ? FACET_COLUMN : null;
  return { ...lay, facet, series: lay.swept.filter((c) => c !== facet) };
}

function cdfPlot(set: ResultSet, layOfMetrics: Layout, cdfs: readonly CdfSeries[], unit: string): PlotSpec | null {
  const lay = byProposers(layOfMetrics);
  const data: Datum[] = [];
  let topPercentile = 0;
  for (const s of cdfs) {
    const row = Object.fromEntries(Object.entries(s.config).map(([k, v]) => [k, v === null ? '' : String(v)]));
    const label = seriesName(row, lay.series);
    for (const [p, v] of s.points) {
      if (p >= 100 || !(v > 0)) continue; // the maximum sits at infinity on this axis; the table has it
      topPercentile = Math.max(topPercentile, p);
      data.push({ x: ninesX(p), y: v, series: label, facet: lay.facet === null ? null : Number(row[lay.facet]), percentile: p });
    }
  }
  if (data.length === 0) return null;
  const ticks = NINES.filter((p) => p <= Math.max(99, topPercentile));
  const panels = lay.facet === null ? 1 : distinct(set.rows, lay.facet).length;
  return {
    id: 'latency-percentiles',
    title: `Latency by percentile (${unit}), log scales`,
    caption: 'each line is one configuration, all its runs merged; x: percentile on a scale that spaces 50%, 90%, 99%, 99.9% evenly; y: latency at that percentile (the maximum is in the table)',
    data,
    x: { field: 'x', label: 'percentile', type: 'log', ticks: ticks.map(ninesX), tickLabels: Object.fromEntries(ticks.map((p) => [String(ninesX(p)), `${p}%`])) },
    y: { label: `latency (${unit})`, type: 'log' },
    series: seriesSpec(lay, data),
    facet: lay.facet === null ? null : { field: 'facet', label: lay.facet },
    marks: [{ kind: 'line', y: 'y', strokeWidth: 1.5 }],
    width: width(panels), height: 320,
  };
}

function timePlot(set: ResultSet, layOfMetrics: Layout, series: readonly TimeSeries[]): PlotSpec | null {
  const lay = byProposers(layOfMetrics);
  const data: Datum[] = [];
  for (const s of series) {
    const row = Object.fromEntries(Object.entries(s.config).map(([k, v]) => [k, v === null ? '' : String(v)]));
    const label = seriesName(row, lay.series);
    s.values.forEach((v, i) => data.push({ x: Math.round(i * s.step_s * 1000) / 1000, y: v, series: label, facet: lay.facet === null ? null : Number(row[lay.facet]) }));
  }
  if (data.length === 0) return null;
  const panels = lay.facet === null ? 1 : distinct(set.rows, lay.facet).length;
  // The series count commands: one per decision unless a leader batched them.
  const unit = batchedRuns(set) ? 'commands/s' : 'decisions/s';
  return {
    id: 'throughput-over-time',
    title: 'Throughput over the measured window',
    caption: `${unit} per ${series[0]?.step_s ?? 0} s bucket, one run per configuration (its first)`,
    data,
    x: { field: 'x', label: 'seconds into the measured window', type: 'linear' },
    y: { label: unit, type: 'linear' },
    series: seriesSpec(lay, data),
    facet: lay.facet === null ? null : { field: 'facet', label: lay.facet },
    marks: [{ kind: 'line', y: 'y', strokeWidth: 1 }],
    width: width(panels), height: 260,
  };
}

export interface PlotInputs {
  cdfs?: readonly CdfSeries[];
  cdfUnit?: string;
  timeSeries?: readonly TimeSeries[];
}

export function plotSpecs(set: ResultSet, inputs: PlotInputs): PlotSpec[] {
  const lay = layout(set);
  const plotted = headlineMetrics(set)
    .filter((m) => metricInfo(m).plot !== undefined)
    .sort((a, b) => (metricInfo(a).plot ?? 0) - (metricInfo(b).plot ?? 0));
  const specs = plotted.map((m) => metricPlot(set, lay, m));
  specs.push(inputs.cdfs === undefined ? null : cdfPlot(set, lay, inputs.cdfs, inputs.cdfUnit ?? 'us'));
  specs.push(inputs.timeSeries === undefined ? null : timePlot(set, lay, inputs.timeSeries));
  return specs.filter((s): s is PlotSpec => s !== null);
}
