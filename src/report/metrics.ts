/**
 * What each metric column means to a reader: a label, which direction is
 * better, whether its axis is logarithmic, and whether the report plots it.
 * Shared by the bench and the simulator's sweeps (the same name means the
 * same thing in both), read by `compare` (verdicts, --fail-above) and the
 * report (plots, findings). A column missing here falls back to its name's
 * pattern (`directionOf`), so a new metric still gets a direction.
 */

export type Better = 'higher' | 'lower' | null;

export interface MetricInfo {
  label: string;
  better: Better;
  /** A latency or a count spanning decades: log axis. */
  log?: boolean;
  /** Plotted against the swept parameter, in this order (lower first). */
  plot?: number;
  /** Describes the machine, not the code under test (the limit): compare shows it, never fails on it. */
  environment?: boolean;
}

const LATENCY_PERCENTILES = ['p50', 'p90', 'p99', 'p999', 'max', 'mean'] as const;

function latencies(prefix: string, unit: string, plotted: Partial<Record<(typeof LATENCY_PERCENTILES)[number], number>>): Record<string, MetricInfo> {
  return Object.fromEntries(
    LATENCY_PERCENTILES.map((p) => {
      const info: MetricInfo = { label: `latency ${p === 'p999' ? 'p99.9' : p} (${unit})`, better: 'lower', log: true };
      const order = plotted[p];
      if (order !== undefined) info.plot = order;
      return [`${prefix}_${p}`, info];
    }),
  );
}

export const METRICS: Readonly<Record<string, MetricInfo>> = {
  // Throughput and cost (bench).
  decisions_per_s: { label: 'throughput (decisions/s)', better: 'higher', plot: 1 },
  // With batching these replace decisions/s and CPU per decision in the plots and the findings (batchedRuns).
  commands_per_s: { label: 'throughput (commands/s)', better: 'higher', plot: 1 },
  commands_per_decision: { label: 'commands per slot (batching)', better: 'higher' },
  decisions: { label: 'decisions measured', better: 'higher' },
  decisions_per_s_window_min: { label: 'slowest 1 s window (decisions/s)', better: 'higher' },
  decisions_per_s_window_p50: { label: 'median 1 s window (decisions/s)', better: 'higher' },
  decisions_per_s_window_max: { label: 'fastest 1 s window (decisions/s)', better: 'higher' },
  ...latencies('latency_us', 'us', { p50: 2, p99: 3 }),
  cpu_us_per_decision: { label: 'CPU per decision, all threads (us)', better: 'lower', plot: 6 },
  cpu_us_per_command: { label: 'CPU per command, all threads (us)', better: 'lower', plot: 6 },
  bytes_per_decision: { label: 'bytes sent per decision', better: 'lower' },
  event_loop_delay_us_p99: { label: 'main event-loop delay p99 (us)', better: 'lower', log: true },
  heap_growth_pct_per_min_max: { label: 'worker heap growth, worst (%/min)', better: 'lower' },
  decisions_per_s_vs_bare_loop: { label: 'throughput / bare phase-2 loop', better: 'higher' },
  latency_p50_vs_rtt: { label: 'latency p50 / round trip', better: 'lower' },
  latency_p50_vs_bare_two_phase: { label: 'latency p50 / bare two-phase decision', better: 'lower' },
  latency_p99_vs_rtt: { label: 'latency p99 / round trip', better: 'lower' },
  messages_per_s_vs_msgs_per_s: { label: 'messages/s / one-way limit', better: null },
  messages_per_s_vs_batched_msgs_per_s: { label: 'messages/s / batched limit', better: null },
  threads_vs_inline: { label: 'threads / inline throughput', better: 'higher' },
  inline_decisions_per_s: { label: 'inline throughput (decisions/s)', better: 'higher' },
  inline_latency_us_p50: { label: 'inline latency p50 (us)', better: 'lower', log: true },
  // Contention (bench and simulator: one definition, see the README).
  attempts_per_proposal: { label: 'attempts per proposal', better: 'lower', plot: 4 },
  attempts_per_proposal_p99: { label: 'attempts per proposal, p99', better: 'lower' },
  wasted_ballots_per_proposal: { label: 'wasted ballots per proposal', better: 'lower' },
  rejections_per_decision: { label: 'rejections per decision', better: 'lower' },
  messages_per_decision: { label: 'messages per decision', better: 'lower', plot: 5 },
  fsyncs_per_decision: { label: 'fsyncs per decision', better: 'lower' },
  rejections: { label: 'rejections (nacks)', better: 'lower' },
  phase1_retries: { label: 'phase-1 retries', better: 'lower' },
  timeouts: { label: 'timeouts', better: 'lower' },
  leader_changes: { label: 'leader changes', better: 'lower' },
  lease_expiries: { label: 'lease expiries', better: 'lower' },
  livelock_episodes: { label: 'livelock episodes', better: 'lower' },
  livelock_ms: { label: 'time in livelock (ms)', better: 'lower' },
  proposals_dropped: { label: 'proposals dropped', better: 'lower' },
  malformed: { label: 'malformed messages', better: 'lower' },
  fsyncs: { label: 'fsyncs', better: 'lower' },
  // Simulator sweeps (virtual time).
  ...latencies('latency_ms', 'virtual ms', { p50: 2, p99: 3 }),
  makespan_ms: { label: 'makespan (virtual ms)', better: 'lower', log: true, plot: 1 },
  goodput_per_s: { label: 'goodput (decisions per virtual s)', better: 'higher', plot: 1 },
  duels: { label: 'duels', better: 'lower' },
  // The limit, measured in the same invocation: describes the machine.
  limit_rtt_us: { label: 'round trip p50 (us)', better: 'lower', environment: true },
  limit_rtt_us_p99: { label: 'round trip p99 (us)', better: 'lower', environment: true },
  limit_msgs_per_s: { label: 'one-way messages/s', better: 'higher', environment: true },
  limit_batched_msgs_per_s: { label: 'batched one-way messages/s', better: 'higher', environment: true },
  limit_bare_loop_decisions_per_s: { label: 'bare phase-2 loop (decisions/s)', better: 'higher', environment: true },
  limit_bare_two_phase_us: { label: 'bare two-phase decision p50 (us)', better: 'lower', environment: true },
  limit_post_to_idle_us: { label: 'a post that wakes a sleeping worker, p50 (us)', better: 'lower', environment: true },
  limit_post_to_busy_us: { label: 'a post to a busy worker, p50 (us)', better: 'lower', environment: true },
};

/** Name patterns for columns the table above does not list (a metric added by one tool before this file learns it). */
const PATTERNS: ReadonlyArray<[RegExp, Better]> = [
  [/(_per_s|goodput|throughput|_vs_bare_loop)/, 'higher'],
  [/(latency|_ms|_us|attempts|rejections|wasted|messages|fsyncs|duels|livelock|dropped|timeouts|bytes)/, 'lower'],
];

export function metricInfo(name: string): MetricInfo {
  const known = METRICS[name];
  if (known !== undefined) return known;
  const better = PATTERNS.find(([re]) => re.test(name))?.[1] ?? null;
  return { label: name.replace(/_/g, ' '), better };
}

export function directionOf(name: string): Better {
  return metricInfo(name).better;
}
