/**
 * Turns a raw run (per-replica metrics) into the summary a user reads: merged
 * latency and ballot histograms, throughput per 1 s window, contention and
 * cost figures, and every figure against the limit measured in the same run.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { Limit } from './limit.js';
import type { Machine } from './machine.js';
import { BUCKET_MS, type RawRun } from './run.js';
import { mean, percentile, round3 } from '../src/report/stats.js';

export interface Summary {
  label: string;
  policy: string;
  runtime: string;
  replicas: number;
  proposers: number;
  outstanding: number;
  window: number;
  workload: string;
  rate_per_s: number | null;
  conflict_pct: number;
  value_bytes: number;
  storage: string;
  fsync: string;
  apply_cost_us: number;
  duration_s: number;
  warmup_s: number;
  seed: number;
  decisions: number;
  decisions_per_s: number;
  /** Decisions/s per 1 s window of the measured time. */
  throughput_per_s_windows: { count: number; min: number; p50: number; mean: number; max: number };
  latency_us: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number; count: number };
  ballots_per_decision: { mean: number; p99: number };
  rejections: number;
  phase1_retries: number;
  timeouts: number;
  leader_changes: number;
  lease_expiries: number;
  livelock_episodes: number;
  livelock_ms: number;
  messages_per_decision: number;
  bytes_per_decision: number;
  proposals_dropped: number;
  malformed: number;
  fsyncs: number;
  workers: Array<{ replica: number; cpu_ms: number; utilization: number; heap_start_bytes: number; heap_end_bytes: number }>;
  heap_growth_pct_per_min_max: number;
  event_loop_delay_us_p99: number;
  settled: boolean;
  limit: {
    rtt_us: number;
    rtt_us_p99: number;
    msgs_per_s: number;
    batched_msgs_per_s: number;
    bare_loop_window: number;
    bare_loop_decisions_per_s: number;
    bare_loop_window1_decisions_per_s: number;
  };
  ratio: {
    /** decisions/s over the bare phase-2 loop at the same window. */
    decisions_per_s_vs_bare_loop: number;
    /** p50 latency over the raw round trip (the floor for two-phase Paxos is 2). */
    latency_p50_vs_rtt: number;
    latency_p99_vs_rtt: number;
    /** Protocol messages/s sent by all replicas over the one-by-one and batched one-way limits. */
    messages_per_s_vs_msgs_per_s: number;
    messages_per_s_vs_batched_msgs_per_s: number;
    /** With --compare-inline: this run's decisions/s over the inline run's. */
    threads_vs_inline: number | null;
  };
  inline: { decisions_per_s: number; latency_us_p50: number; event_loop_delay_us_p99: number } | null;
  /** Decisions/s per 100 ms bucket, for the throughput-over-time plot. */
  throughput_series_per_s: number[];
  machine: Machine;
  commit: string;
}

function merged(hs: RecordableHistogram[]): RecordableHistogram {
  const out = createHistogram({ lowest: 1, highest: 600_000_000, figures: 3 });
  for (const h of hs) if (h.count > 0) out.add(h);
  return out;
}

const pct = (h: RecordableHistogram, p: number): number => (h.count > 0 ? h.percentile(p) : 0);

export function summarize(run: RawRun, label: string, limit: Limit, m: Machine, commitId: string, inline: RawRun | null): Summary {
  const o = run.options;
  const ms = run.metrics;
  const r0 = ms[0];
  if (r0 === undefined) throw new Error('a run without replicas');
  const seconds = run.measured_ms / 1000;
  const decisions = r0.decisions;
  const dps = decisions / seconds;
  const lat = merged(ms.map((x) => x.latency_us));
  const ballots = merged(ms.map((x) => x.ballots));
  const sum = (f: (x: (typeof ms)[number]) => number): number => ms.reduce((a, x) => a + f(x), 0);
  const perWindow: number[] = [];
  const per = Math.round(1000 / BUCKET_MS);
  const fullWindows = Math.floor(run.measured_ms / 1000);
  for (let w = 0; w < fullWindows; w++) {
    let c = 0;
    for (let b = w * per; b < (w + 1) * per; b++) c += r0.bucket_counts[b] ?? 0;
    perWindow.push(c);
  }
  const sortedWindows = [...perWindow].sort((a, b) => a - b);
  const messages = sum((x) => x.messages_out);
  const window = o.policy.params.window;
  const bare = limit.bare_loop_decisions_per_s[String(window)] ?? Number.NaN;
  const rtt = limit.rtt_us;
  const minutes = run.measured_ms / 60_000;
  const inlineDps = inline === null ? null : (inline.metrics[0]?.decisions ?? 0) / (inline.measured_ms / 1000);
  const inlineLat = inline === null ? null : merged(inline.metrics.map((x) => x.latency_us));
  return {
    label, policy: o.policy.name, runtime: run.runtime, replicas: o.replicas, proposers: o.proposers,
    outstanding: o.outstanding, window, workload: o.workload, rate_per_s: o.workload === 'open' ? o.rate_per_s : null,
    conflict_pct: o.conflict_pct, value_bytes: o.value_bytes, storage: o.storage, fsync: o.fsync,
    apply_cost_us: o.apply_cost_us, duration_s: o.duration_ms / 1000, warmup_s: o.warmup_ms / 1000, seed: o.seed,
    decisions,
    decisions_per_s: round3(dps),
    throughput_per_s_windows: {
      count: perWindow.length, min: percentile(sortedWindows, 0) || 0, p50: percentile(sortedWindows, 50) || 0,
      mean: round3(mean(perWindow)) || 0, max: percentile(sortedWindows, 100) || 0,
    },
    latency_us: {
      p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), p999: pct(lat, 99.9),
      max: lat.count > 0 ? lat.max : 0, mean: lat.count > 0 ? round3(lat.mean) : 0, count: lat.count,
    },
    ballots_per_decision: { mean: ballots.count > 0 ? round3(ballots.mean) : 0, p99: pct(ballots, 99) },
    rejections: sum((x) => x.stats.nacks),
    phase1_retries: sum((x) => x.stats.phase1Retries),
    timeouts: sum((x) => x.stats.timeouts),
    leader_changes: sum((x) => x.stats.leaderChanges),
    lease_expiries: sum((x) => x.stats.leaseExpiries),
    livelock_episodes: sum((x) => x.livelock_episodes),
    livelock_ms: round3(sum((x) => x.livelock_ms)),
    messages_per_decision: decisions > 0 ? round3(messages / decisions) : 0,
    bytes_per_decision: decisions > 0 ? round3(sum((x) => x.bytes_out) / decisions) : 0,
    proposals_dropped: sum((x) => x.proposals_dropped),
    malformed: sum((x) => x.malformed),
    fsyncs: sum((x) => x.fsyncs),
    workers: ms.map((x) => ({
      replica: x.id, cpu_ms: round3(x.elu_active_ms), utilization: round3(x.elu_utilization),
      heap_start_bytes: x.heap_start_bytes, heap_end_bytes: x.heap_end_bytes,
    })),
    heap_growth_pct_per_min_max: round3(
      Math.max(...ms.map((x) => (x.heap_start_bytes > 0 ? ((x.heap_end_bytes - x.heap_start_bytes) / x.heap_start_bytes) * 100 / minutes : 0))),
    ),
    event_loop_delay_us_p99: round3(run.event_loop_delay_us_p99),
    settled: run.settled,
    limit: {
      rtt_us: round3(rtt), rtt_us_p99: round3(limit.rtt_us_p99), msgs_per_s: round3(limit.msgs_per_s),
      batched_msgs_per_s: round3(limit.batched_msgs_per_s), bare_loop_window: window,
      bare_loop_decisions_per_s: round3(bare), bare_loop_window1_decisions_per_s: round3(limit.bare_loop_decisions_per_s['1'] ?? Number.NaN),
    },
    ratio: {
      decisions_per_s_vs_bare_loop: round3(dps / bare),
      latency_p50_vs_rtt: round3(pct(lat, 50) / rtt),
      latency_p99_vs_rtt: round3(pct(lat, 99) / rtt),
      messages_per_s_vs_msgs_per_s: round3(messages / seconds / limit.msgs_per_s),
      messages_per_s_vs_batched_msgs_per_s: round3(messages / seconds / limit.batched_msgs_per_s),
      threads_vs_inline: inlineDps === null || inlineDps === 0 ? null : round3(dps / inlineDps),
    },
    inline: inline === null || inlineDps === null || inlineLat === null ? null : {
      decisions_per_s: round3(inlineDps), latency_us_p50: pct(inlineLat, 50),
      event_loop_delay_us_p99: round3(inline.event_loop_delay_us_p99),
    },
    throughput_series_per_s: Array.from({ length: Math.ceil(run.measured_ms / BUCKET_MS) }, (_, b) => (r0.bucket_counts[b] ?? 0) * (1000 / BUCKET_MS)),
    machine: m,
    commit: commitId,
  };
}

/** One CSV-able row: nested objects flattened with dots; arrays left out (they live in runs/*.json). */
export function flatten(obj: object, prefix = '', out: Record<string, string | number | boolean | null> = {}): Record<string, string | number | boolean | null> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (Array.isArray(v)) continue;
    if (v !== null && typeof v === 'object') flatten(v as object, key, out);
    else out[key] = v as string | number | boolean | null;
  }
  return out;
}
