/**
 * What the bench adds to the shared report (src/report/html.ts): latency
 * percentiles per configuration (all its runs merged), throughput over time,
 * the limit measured in the same invocation, and notes on runs that did not
 * settle, livelocked, or ran too briefly for heap growth to mean anything.
 */
import type { RecordableHistogram } from 'node:perf_hooks';
import type { Limit } from './limit.js';
import { BUCKET_MS } from './run.js';
import { HEAP_GROWTH_MIN_MS, type RunSummary } from './summary.js';
import type { ReportExtras } from '../src/report/html.js';
import { formatNumber } from '../src/report/format.js';
import { round3 } from '../src/report/stats.js';
import { clock } from './progress.js';
import { formatDuration } from '../src/base/units.js';

export interface ConfigRuns {
  label: string;
  runs: RunSummary[];
  /** Latency of every run of the configuration, merged. */
  latency: RecordableHistogram;
}

function limitTable(limits: readonly Limit[]): string {
  const rows = limits
    .map((l) => `<tr><td>${l.workers}</td><td>${l.rtt_us.toFixed(1)}</td><td>${l.rtt_us_p99.toFixed(1)}</td><td>${Math.round(l.msgs_per_s)}</td><td>${Math.round(l.batched_msgs_per_s)}</td><td>${Object.entries(l.bare_loop_decisions_per_s).map(([w, v]) => `w${w}: ${Math.round(v)}`).join(', ')}</td><td>${l.bare_two_phase_us.toFixed(1)}</td><td>${l.post_to_idle_us.toFixed(1)} / ${l.post_to_busy_us.toFixed(1)}</td></tr>`)
    .join('');
  return `<p class="meta">Measured once per replica count before the runs, on the same worker topology; every run's ratios (vs bare, p50/rtt, p50 against the two-phase floor) are against it.</p>
<table><tr><th>workers</th><th>RTT p50 us</th><th>RTT p99 us</th><th>one-way msgs/s</th><th>batched msgs/s</th><th>bare phase-2 loop decisions/s</th><th>bare two-phase decision p50 us</th><th>one post p50 us, receiver asleep / busy</th></tr>${rows}</table>`;
}

function notes(configs: readonly ConfigRuns[]): string[] {
  const out: string[] = [];
  const all = configs.flatMap((c) => c.runs);
  const unsettled = configs.filter((c) => c.runs.some((r) => !r.settled)).map((c) => c.label || 'the run');
  if (unsettled.length > 0) out.push(`Did not settle (proposals pending or replicas behind at the end): ${unsettled.join('; ')}.`);
  const livelocked = configs.flatMap((c) => {
    const episodes = c.runs.reduce((s, r) => s + (r.metrics.livelock_episodes ?? 0), 0);
    const livelock_ms = c.runs.reduce((s, r) => s + (r.metrics.livelock_ms ?? 0), 0);
    return episodes === 0 ? [] : [`${c.label || 'the run'} (${episodes} episode${episodes === 1 ? '' : 's'}, ${formatDuration(Math.round(livelock_ms))} without a decision)`];
  });
  if (livelocked.length > 0) out.push(`Livelocked, over all runs of a configuration: ${livelocked.join('; ')}.`);
  const longest = Math.max(0, ...all.map((r) => Number(r.config.duration_ms ?? 0)));
  if (longest < HEAP_GROWTH_MIN_MS) out.push(`Heap growth is not shown: it means something only for runs measured at least ${clock(HEAP_GROWTH_MIN_MS)} (these ran ${formatDuration(longest)}).`);
  else {
    const worst = Math.max(...all.map((r) => r.metrics.heap_growth_pct_per_min_max ?? Number.NEGATIVE_INFINITY));
    if (Number.isFinite(worst)) out.push(`Worker heap growth after warm-up, worst run: ${formatNumber(worst)}%/min.`);
  }
  return out;
}

export function benchExtras(configs: readonly ConfigRuns[], limits: readonly Limit[]): ReportExtras {
  return {
    cdfs: configs
      .filter((c) => c.latency.count > 0)
      .map((c) => ({ config: c.runs[0]?.config ?? {}, points: [...c.latency.percentiles].map(([p, v]): [number, number] => [round3(p), v]) })),
    cdfUnit: 'us',
    timeSeries: configs.flatMap((c) => {
      const first = c.runs.find((r) => r.repeat === 0);
      return first === undefined ? [] : [{ config: first.config, step_s: BUCKET_MS / 1000, values: first.throughput_series_per_s }];
    }),
    notes: notes(configs),
    sections: [{ title: 'Limit (same invocation, same worker topology)', html: limitTable(limits) }],
  };
}

