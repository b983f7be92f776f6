/**
 * A sweep's report.html: the command, a table of every point (mean ± 95%
 * interval per metric) and one chart per headline metric, x = the last plain
 * sweep's key, one line per combination of the other keys. Self-contained
 * (inline SVG, no scripts). Stands in until src/report has the benchmark's
 * report code; then this should call that.
 */
import { round3, type Interval } from '../report/stats.js';
import type { MetricName } from './metrics.js';
import type { Summary } from './outcome.js';
import { lineChartSvg, type ChartSeries } from './svg.js';
import { pointLabel, sweptValue, type Point, type Sweep } from './sweep.js';

export const HEADLINE_METRICS: readonly MetricName[] = [
  'attempts_per_proposal', 'wasted_ballots_per_proposal', 'rejections_per_proposal', 'messages_per_commit', 'fsyncs_per_commit',
  'latency_ms_p50', 'latency_ms_p99', 'makespan_ms', 'goodput_per_s', 'duels',
];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cell(i: Interval): string {
  if (!Number.isFinite(i.mean)) return '-';
  return Number.isFinite(i.ci95) ? `${round3(i.mean)} ± ${round3(i.ci95)}` : String(round3(i.mean));
}

export interface SweepReport {
  command: string;
  /** The metrics of the table and the charts (default HEADLINE_METRICS). */
  metrics?: readonly MetricName[];
  seeds: string;
  sweeps: readonly Sweep[];
  points: readonly Point[];
  summaries: readonly Summary[];
}

export function sweepHtml(r: SweepReport): string {
  const xSweep = [...r.sweeps].reverse().find((s) => s.policy === null) ?? null;
  const metrics = r.metrics ?? HEADLINE_METRICS;
  const charts = xSweep === null ? [] : metrics.map((m) => chartFor(r, xSweep, m));
  const head = ['point', ...metrics, 'violations', 'liveness failures'].map((h) => `<th>${esc(h)}</th>`).join('');
  const rows = r.points.map((p, i) => {
    const s = r.summaries[i] as Summary;
    const cells = [pointLabel(p, r.sweeps), ...metrics.map((m) => cell(s.metrics[m])), String(s.violations), String(s.livenessFailures)];
    return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>synod simulator sweep</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}code{background:#f4f4f4;padding:2px 4px}</style>
</head><body>
<h1>Simulator sweep</h1>
<p><code>${esc(r.command)}</code></p>
<p>Seeds ${esc(r.seeds)} at every point (common random numbers). Each cell: mean ± 95% t-interval over the seeds.</p>
<table><tr>${head}</tr>
${rows.join('\n')}
</table>
${charts.join('\n')}
</body></html>
`;
}

/** One chart of `metric`: x = the values of sweep `x`, one line per combination of the other swept keys. */
export function chartFor(r: Pick<SweepReport, 'points' | 'summaries' | 'sweeps'>, x: Sweep, metric: MetricName, title: string = metric, logY = false): string {
  const xs = x.values;
  const series = new Map<string, ChartSeries>();
  r.points.forEach((p, i) => {
    const rest = new Map([...p].filter(([k]) => !x.keys.includes(k)));
    // The policy's name alone says which it is.
    const name = rest.size === 0 ? metric : pointLabel(rest, r.sweeps).replace(/^policy=/, '');
    let s = series.get(name);
    if (s === undefined) {
      s = { name, y: xs.map(() => Number.NaN), ci: xs.map(() => Number.NaN) };
      series.set(name, s);
    }
    const at = xs.indexOf(sweptValue(x, p) ?? '');
    const v = (r.summaries[i] as Summary).metrics[metric];
    if (at >= 0) {
      s.y[at] = v.mean;
      s.ci[at] = v.ci95;
    }
  });
  return lineChartSvg({ title, xLabel: x.key, yLabel: metric, x: xs, series: [...series.values()], logY });
}
