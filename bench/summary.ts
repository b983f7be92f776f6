/**
 * Turns a raw run (per-replica metrics) into what a reader gets: one flat
 * record of metrics named as results.csv names them (src/report/metrics.ts;
 * the simulator uses the same names for the same things), the raw latency
 * percentiles, throughput over time, and every figure against the limit
 * measured in the same invocation.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { WorkloadMetrics } from '../src/cluster/index.js';
import type { Limit } from './limit.js';
import { BUCKET_MS, type RawRun } from './run.js';
import { RESULTS_SCHEMA_VERSION, type Row } from '../src/report/results.js';
import { percentile, round3 } from '../src/report/stats.js';

/** Every metric column of the bench, in results.csv order. */
export const BENCH_METRICS = [
  'decisions_per_s', 'decisions', 'commands_per_s', 'commands_per_decision', 'decisions_per_s_window_min', 'decisions_per_s_window_p50', 'decisions_per_s_window_max',
  'latency_us_p50', 'latency_us_p90', 'latency_us_p99', 'latency_us_p999', 'latency_us_max', 'latency_us_mean',
  'reads', 'read_latency_us_p50', 'read_latency_us_p99', 'local_query_us_p50', 'read_latency_p50_vs_local', 'read_latency_p50_vs_rtt', 'reads_refused',
  'attempts_per_proposal', 'attempts_per_proposal_p99',
  'rejections_per_decision', 'messages_per_decision', 'bytes_per_decision', 'fsyncs_per_decision', 'cpu_us_per_decision', 'cpu_us_per_command',
  'rejections', 'phase1_retries', 'timeouts', 'leader_changes', 'lease_expiries', 'livelock_episodes', 'livelock_ms',
  'proposals_dropped', 'malformed', 'fsyncs', 'event_loop_delay_us_p99', 'heap_growth_pct_per_min_max',
  'decisions_per_s_vs_bare_loop', 'latency_p50_vs_rtt', 'latency_p99_vs_rtt', 'latency_p50_vs_bare_two_phase', 'messages_per_s_vs_msgs_per_s', 'messages_per_s_vs_batched_msgs_per_s',
  'threads_vs_inline', 'inline_decisions_per_s', 'inline_latency_us_p50',
  'limit_rtt_us', 'limit_rtt_us_p99', 'limit_msgs_per_s', 'limit_batched_msgs_per_s', 'limit_bare_loop_decisions_per_s',
  'limit_bare_two_phase_us', 'limit_post_to_idle_us', 'limit_post_to_busy_us',
] as const;

export type BenchMetric = (typeof BENCH_METRICS)[number];
export type Metrics = Record<BenchMetric, number | null>;

/**
 * Heap growth is reported only for runs measured at least this long. The heap
 * is read after a full GC (--expose-gc) at the start and end of the measured
 * window, and bounded structures still fill up in its first seconds (dedupe
 * windows, the retained log tail, JIT code): a 1 MB step on a 15 MB heap reads
 * as 133%/min over 3 s but 13%/min over 30 s, so below 30 s the rate says
 * more about the run's length than about a leak (3 s runs showed 827-1249%/min).
 */
export const HEAP_GROWTH_MIN_MS = 30_000;

export interface RunSummary {
  schema_version: number;
  /** The swept values ("policy=lease proposers=3"), or ''. */
  label: string;
  /** 0-based repeat of this configuration. */
  repeat: number;
  config: Row;
  metrics: Metrics;
  /** Every replica ended with the same decided prefix and no proposal pending. */
  settled: boolean;
  /** [percentile, latency us] breakpoints of the merged histogram (what a latency CDF is drawn from). */
  latency_us_percentiles: Array<[number, number]>;
  /** Decisions/s per 100 ms bucket. */
  throughput_series_per_s: number[];
  /**
   * Per replica over the window: busy time, heap, driver turns and envelopes sent (messages per envelope: how
   * well a turn batches), and garbage collection (gc_ms of cpu_ms: the collector's share of the thread).
   */
  workers: Array<{
    replica: number; cpu_ms: number; utilization: number; heap_start_bytes: number; heap_end_bytes: number;
    turns: number; envelopes_out: number; messages_out: number; gc_ms: number; gc_minor_ms: number; gc_minor_count: number; gc_major_ms: number;
  }>;
}

/** Read latencies are kept in ns (a lease read takes about a microsecond): up to 600 s. */
const NS_HIGHEST = 600_000_000_000;

export function mergedHistogram(hs: readonly RecordableHistogram[], highest = 600_000_000): RecordableHistogram {
  const out = createHistogram({ lowest: 1, highest, figures: 3 });
  for (const h of hs) if (h.count > 0) out.add(h);
  return out;
}

const pct = (h: RecordableHistogram, p: number): number => (h.count > 0 ? h.percentile(p) : 0);

/**
 * The one reading of the core's per-decision `ballots` count (every ballot
 * started on a value's behalf, across slots): attempts per proposal.
 */
export function attemptsPerProposal(ms: readonly WorkloadMetrics[]): { mean: number; p99: number } {
  const h = mergedHistogram(ms.map((x) => x.ballots));
  return { mean: h.count > 0 ? round3(h.mean) : 0, p99: pct(h, 99) };
}

function windows(run: RawRun): number[] {
  const r0 = run.metrics[0];
  const per = Math.round(1000 / BUCKET_MS);
  const out: number[] = [];
  for (let w = 0; w < Math.floor(run.measured_ms / 1000); w++) {
    let c = 0;
    for (let b = w * per; b < (w + 1) * per; b++) c += r0?.bucket_counts[b] ?? 0;
    out.push(c);
  }
  return out.sort((a, b) => a - b);
}

function heapGrowth(run: RawRun): number | null {
  if (run.measured_ms < HEAP_GROWTH_MIN_MS) return null;
  const minutes = run.measured_ms / 60_000;
  return round3(Math.max(...run.metrics.map((x) => (x.heap_start_bytes > 0 ? (((x.heap_end_bytes - x.heap_start_bytes) / x.heap_start_bytes) * 100) / minutes : 0))));
}

type ReadMetric = 'reads' | 'read_latency_us_p50' | 'read_latency_us_p99' | 'local_query_us_p50' | 'read_latency_p50_vs_local' | 'read_latency_p50_vs_rtt' | 'reads_refused';

/** Reads (--reads): their latency, a direct query call's beside it (the local baseline), and the round trip; null without reads. */
function readMetrics(ms: readonly WorkloadMetrics[], rtt_us: number): Record<ReadMetric, number | null> {
  const reads = mergedHistogram(ms.map((x) => x.read_latency_ns), NS_HIGHEST);
  const local = mergedHistogram(ms.map((x) => x.local_query_ns), NS_HIGHEST);
  const refused = ms.reduce((a, x) => a + x.reads_refused, 0);
  if (reads.count === 0 && refused === 0) {
    return { reads: null, read_latency_us_p50: null, read_latency_us_p99: null, local_query_us_p50: null, read_latency_p50_vs_local: null, read_latency_p50_vs_rtt: null, reads_refused: null };
  }
  const us = (h: RecordableHistogram, p: number): number => (h.count > 0 ? round3(h.percentile(p) / 1000) : 0);
  return {
    reads: reads.count, read_latency_us_p50: us(reads, 50), read_latency_us_p99: us(reads, 99), local_query_us_p50: us(local, 50),
    read_latency_p50_vs_local: local.count > 0 ? round3(reads.percentile(50) / local.percentile(50)) : null,
    read_latency_p50_vs_rtt: round3(us(reads, 50) / rtt_us), reads_refused: refused,
  };
}

export function summarize(run: RawRun, label: string, repeat: number, limit: Limit, inline: RawRun | null): RunSummary {
  const ms = run.metrics;
  const r0 = ms[0];
  if (r0 === undefined) throw new Error('a run without replicas');
  const seconds = run.measured_ms / 1000;
  const decisions = r0.decisions;
  const dps = decisions / seconds;
  const lat = mergedHistogram(ms.map((x) => x.latency_us));
  const attempts = attemptsPerProposal(ms);
  const sum = (f: (x: WorkloadMetrics) => number): number => ms.reduce((a, x) => a + f(x), 0);
  const perDecision = (x: number): number => (decisions > 0 ? round3(x / decisions) : 0);
  const sortedWindows = windows(run);
  const messages = sum((x) => x.messages_out);
  const bare = limit.bare_loop_decisions_per_s[String(run.options.policy.params.window)] ?? Number.NaN;
  const stableLeader = run.options.policy.name === 'leader' || run.options.policy.name === 'lease';
  // Inline replicas share one thread, whose busy time each of them reports.
  const cpu_ms = run.runtime === 'inline' ? r0.elu_active_ms : sum((x) => x.elu_active_ms);
  const inlineDps = inline === null ? null : (inline.metrics[0]?.decisions ?? 0) / (inline.measured_ms / 1000);
  const metrics: Metrics = {
    decisions_per_s: round3(dps), decisions,
    // Slots count decisions; a batching leader packs several commands into one.
    commands_per_s: round3(r0.commands / seconds), commands_per_decision: perDecision(r0.commands),
    decisions_per_s_window_min: percentile(sortedWindows, 0) || 0, decisions_per_s_window_p50: percentile(sortedWindows, 50) || 0,
    decisions_per_s_window_max: percentile(sortedWindows, 100) || 0,
    latency_us_p50: pct(lat, 50), latency_us_p90: pct(lat, 90), latency_us_p99: pct(lat, 99), latency_us_p999: pct(lat, 99.9),
    latency_us_max: lat.count > 0 ? lat.max : 0, latency_us_mean: lat.count > 0 ? round3(lat.mean) : 0,
    ...readMetrics(ms, limit.rtt_us),
    attempts_per_proposal: attempts.mean, attempts_per_proposal_p99: attempts.p99,
    rejections_per_decision: perDecision(sum((x) => x.stats.nacks)), messages_per_decision: perDecision(messages),
    bytes_per_decision: perDecision(sum((x) => x.bytes_out)), fsyncs_per_decision: perDecision(sum((x) => x.fsyncs)),
    cpu_us_per_decision: perDecision(cpu_ms * 1000),
    cpu_us_per_command: r0.commands > 0 ? round3((cpu_ms * 1000) / r0.commands) : 0,
    rejections: sum((x) => x.stats.nacks), phase1_retries: sum((x) => x.stats.phase1Retries), timeouts: sum((x) => x.stats.timeouts),
    leader_changes: sum((x) => x.stats.leaderChanges), lease_expiries: sum((x) => x.stats.leaseExpiries),
    livelock_episodes: sum((x) => x.livelock_episodes), livelock_ms: round3(sum((x) => x.livelock_ms)),
    proposals_dropped: sum((x) => x.proposals_dropped), malformed: sum((x) => x.malformed), fsyncs: sum((x) => x.fsyncs),
    event_loop_delay_us_p99: round3(run.event_loop_delay_us_p99), heap_growth_pct_per_min_max: heapGrowth(run),
    decisions_per_s_vs_bare_loop: round3(dps / bare), latency_p50_vs_rtt: round3(pct(lat, 50) / limit.rtt_us),
    latency_p99_vs_rtt: round3(pct(lat, 99) / limit.rtt_us),
    // A per-slot policy runs both phases for every decision; a stable leader runs phase 1 once per term;
    // a lone replica sends nothing (its floor was measured on two workers).
    latency_p50_vs_bare_two_phase: stableLeader || run.options.replicas === 1 ? null : round3(pct(lat, 50) / limit.bare_two_phase_us),
    messages_per_s_vs_msgs_per_s: round3(messages / seconds / limit.msgs_per_s),
    messages_per_s_vs_batched_msgs_per_s: round3(messages / seconds / limit.batched_msgs_per_s),
    threads_vs_inline: inlineDps === null || inlineDps === 0 ? null : round3(dps / inlineDps),
    inline_decisions_per_s: inlineDps === null ? null : round3(inlineDps),
    inline_latency_us_p50: inline === null ? null : pct(mergedHistogram(inline.metrics.map((x) => x.latency_us)), 50),
    limit_rtt_us: round3(limit.rtt_us), limit_rtt_us_p99: round3(limit.rtt_us_p99), limit_msgs_per_s: round3(limit.msgs_per_s),
    limit_batched_msgs_per_s: round3(limit.batched_msgs_per_s), limit_bare_loop_decisions_per_s: round3(bare),
    limit_bare_two_phase_us: round3(limit.bare_two_phase_us),
    limit_post_to_idle_us: round3(limit.post_to_idle_us), limit_post_to_busy_us: round3(limit.post_to_busy_us),
  };
  return {
    schema_version: RESULTS_SCHEMA_VERSION, label, repeat, config: run.options.config, metrics, settled: run.settled,
    latency_us_percentiles: lat.count > 0 ? [...lat.percentiles].map(([p, v]) => [round3(p), v]) : [],
    throughput_series_per_s: Array.from({ length: Math.ceil(run.measured_ms / BUCKET_MS) }, (_, b) => (r0.bucket_counts[b] ?? 0) * (1000 / BUCKET_MS)),
    workers: ms.map((x) => ({
      replica: x.id, cpu_ms: round3(x.elu_active_ms), utilization: round3(x.elu_utilization),
      heap_start_bytes: x.heap_start_bytes, heap_end_bytes: x.heap_end_bytes,
      turns: x.turns, envelopes_out: x.envelopes_out, messages_out: x.messages_out,
      gc_ms: round3(x.gc.gc_ms), gc_minor_ms: round3(x.gc.gc_minor_ms), gc_minor_count: x.gc.gc_minor_count, gc_major_ms: round3(x.gc.gc_major_ms),
    })),
  };
}
