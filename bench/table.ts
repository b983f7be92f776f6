/** The summary table printed on stdout at the end: one row per configuration, each figure with its spread over repeats. */
import { CI_SAMPLES_MIN } from '../src/report/plots.js';
import type { Estimate } from '../src/report/stats.js';
import type { BenchMetric } from './summary.js';

export interface TableRow {
  label: string;
  runtime: string;
  estimates: Record<BenchMetric, Estimate>;
  settled: boolean;
}

const COLUMNS: ReadonlyArray<[string, BenchMetric]> = [
  // Only with batching (a slot holds several commands): the figure a batching user came for.
  ['commands/s', 'commands_per_s'], ['cmds/dec', 'commands_per_decision'],
  ['decisions/s', 'decisions_per_s'], ['vs bare', 'decisions_per_s_vs_bare_loop'], ['p50 us', 'latency_us_p50'], ['p99 us', 'latency_us_p99'],
  ['p50/rtt', 'latency_p50_vs_rtt'], ['p50/2-phase floor', 'latency_p50_vs_bare_two_phase'], ['attempts', 'attempts_per_proposal'], ['rej/dec', 'rejections_per_decision'],
  ['msgs/dec', 'messages_per_decision'], ['cpu us/dec', 'cpu_us_per_decision'], ['cpu us/cmd', 'cpu_us_per_command'], ['livelock', 'livelock_episodes'], ['vs inline', 'threads_vs_inline'],
  // Only with --reads (null otherwise, so the columns drop out).
  ['read p50 us', 'read_latency_us_p50'], ['read p99 us', 'read_latency_us_p99'], ['read/local', 'read_latency_p50_vs_local'], ['read/rtt', 'read_latency_p50_vs_rtt'],
];

/** 15276 -> '15.3k', 0.1234 -> '0.123'. */
function compact(x: number): string {
  if (!Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(a >= 1e7 ? 1 : 2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (a >= 100) return String(Math.round(x));
  return String(Number(x.toPrecision(3)));
}

/** 'median' alone for one run; 'median (min-max)' for repeats, and '±ci%' (half-width of the 95% CI of the mean) from three. */
export function spread(e: Estimate): string {
  if (e.n === 0) return '-';
  if (e.n === 1) return compact(e.median);
  const ci = e.n >= CI_SAMPLES_MIN && Number.isFinite(e.ci95_hi - e.ci95_lo) && e.mean !== 0 ? ` ±${compact((Math.abs(e.ci95_hi - e.ci95_lo) / 2 / Math.abs(e.mean)) * 100)}%` : '';
  return `${compact(e.median)} (${compact(e.min)}-${compact(e.max)})${ci}`;
}

/** With repeats each cell carries its spread, so the ratios (in the report and the CSV) make room. */
const RATIOS: readonly BenchMetric[] = ['decisions_per_s_vs_bare_loop', 'latency_p50_vs_rtt', 'latency_p50_vs_bare_two_phase', 'threads_vs_inline'];

/** Columns shown only when some row batched commands (else commands/s is decisions/s again). */
const BATCH_ONLY: readonly BenchMetric[] = ['commands_per_s', 'commands_per_decision', 'cpu_us_per_command'];

export function renderTable(rows: readonly TableRow[]): string {
  const repeated = rows.some((r) => r.estimates.decisions_per_s.n > 1);
  const batched = rows.some((r) => r.estimates.commands_per_decision.max > 1.001);
  const cols = COLUMNS.filter(([, m]) => rows.some((r) => r.estimates[m].n > 0) && !(repeated && RATIOS.includes(m)) && (batched || !BATCH_ONLY.includes(m)));
  const head = ['configuration', 'rt', ...cols.map(([h]) => h), 'ok'];
  const body = rows.map((r, i) => [r.label || String(i + 1), r.runtime, ...cols.map(([, m]) => spread(r.estimates[m])), r.settled ? 'yes' : 'NO']);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((s, c) => (c <= 1 ? s.padEnd(widths[c] ?? 0) : s.padStart(widths[c] ?? 0))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
