/**
 * What the simulator prints: a line per seed, the text summary of many seeds,
 * and the `--json` summary (versioned by SIM_SCHEMA_VERSION; its metric names
 * are metrics.ts's, each the mean over seeds, with the 95% half-widths under
 * `ci95`).
 */
import { round3 } from '../report/stats.js';
import { POLICY_READS } from '../cli/policy-flags.js';
import { formatLatency } from './latency.js';
import { METRICS, SIM_SCHEMA_VERSION, type MetricName } from './metrics.js';
import type { SeedOutcome, Summary } from './outcome.js';
import type { RunSpec } from './flags.js';

function f(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return '-';
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

export function seedLine(o: SeedOutcome): string {
  const m = o.metrics;
  return (
    `seed ${o.seed}: ${o.replicas} replicas, ${o.proposers} proposers; decided ${m.decided}/${m.proposals}, attempts/proposal ${f(m.attempts_per_proposal)}, ` +
    `wasted ballots/proposal ${f(m.wasted_ballots_per_proposal)}, rejections/proposal ${f(m.rejections_per_proposal)}, duels ${m.duels}, ` +
    `latency p50 ${f(m.latency_ms_p50)} ms, makespan ${f(m.makespan_ms)} ms, first decision ${f(m.first_decision_ms, 1)} ms, livelock episodes ${m.livelock_episodes}, ` +
    `leader changes ${o.leaderChanges}, lease expiries ${o.leaseExpiries}${o.violations > 0 ? ', VIOLATION' : ''}${o.livenessFailure === null ? '' : ', not live'}`
  );
}

/** Wall-clock and CPU seconds of a run of many seeds (the machine may be shared: CPU time shows the simulator's own speed). */
export interface RunTime {
  elapsed_s: number;
  cpu_s: number;
}

export function summaryText(spec: RunSpec, s: Summary, livenessExpected: boolean, outcomes: readonly SeedOutcome[], time: RunTime): string {
  const m = (k: MetricName): string => f(s.metrics[k].mean);
  const proposals = outcomes.reduce((a, o) => a + o.metrics.proposals, 0);
  const decided = outcomes.reduce((a, o) => a + o.metrics.decided, 0);
  return (
    `${spec.policy.name}: ${s.seeds} seeds, ${s.violations} with violations, ${s.livenessFailures} liveness failures${livenessExpected ? '' : ' (livelock allowed for this policy)'}\n` +
    `  per proposal: attempts ${m('attempts_per_proposal')} (max ${m('attempts_max')}), wasted ballots ${m('wasted_ballots_per_proposal')}, rejections ${m('rejections_per_proposal')}, ` +
    `messages ${m('messages_per_commit')}, fsyncs ${m('fsyncs_per_commit')}; latency p50 ${m('latency_ms_p50')} p99 ${m('latency_ms_p99')} max ${m('latency_ms_max')} ms\n` +
    `  per run: makespan ${m('makespan_ms')} ms, goodput ${m('goodput_per_s')}/s, duels ${m('duels')}, livelock episodes ${m('livelock_episodes')}, ` +
    `first decision ${m('first_decision_ms')} ms; decisions ${decided}/${proposals}\n` +
    `  ${s.events} events in ${f(time.elapsed_s)} s (${f(s.events / Math.max(time.elapsed_s, 1e-9), 0)} events/s; ` +
    `${f(s.events / Math.max(time.cpu_s, 1e-9), 0)} per CPU second)\n`
  );
}

/** Mean and CI of every metric, finite values rounded (JSON has no NaN: undefined metrics are null). */
export function metricsJson(s: Summary): { means: Record<string, number | null>; ci95: Record<string, number | null> } {
  const means: Record<string, number | null> = {};
  const ci95: Record<string, number | null> = {};
  const num = (x: number): number | null => (Number.isFinite(x) ? round3(x) : null);
  for (const k of METRICS) {
    means[k] = num(s.metrics[k].mean);
    ci95[k] = num(s.metrics[k].ci95);
  }
  return { means, ci95 };
}

export function summaryJson(spec: RunSpec, s: Summary, seed0: number, livenessExpected: boolean, outcomes: readonly SeedOutcome[], time: RunTime): Record<string, unknown> {
  const { means, ci95 } = metricsJson(s);
  const sum = (g: (o: SeedOutcome) => number): number => outcomes.reduce((a, o) => a + g(o), 0);
  const params = Object.fromEntries(POLICY_READS[spec.policy.name].map((k) => [k, spec.policy.params[k]]));
  const { proposals: _p, decided: _d, ...perRun } = means;
  return {
    schema_version: SIM_SCHEMA_VERSION,
    policy: spec.policy.name,
    params,
    workload: spec.workload.kind,
    latency: spec.latency === null ? 'fault-plan' : formatLatency(spec.latency),
    faults: spec.faults,
    seeds: s.seeds,
    seed_first: seed0,
    violations: s.violations,
    liveness_failures: s.livenessFailures,
    liveness_expected: livenessExpected,
    proposals: sum((o) => o.metrics.proposals),
    decisions: sum((o) => o.metrics.decided),
    ...perRun,
    ci95,
    timeouts: sum((o) => o.timeouts),
    leader_changes: sum((o) => o.leaderChanges),
    lease_expiries: sum((o) => o.leaseExpiries),
    malformed_dropped: sum((o) => o.malformedDropped),
    events: s.events,
    elapsed_s: round3(time.elapsed_s),
    events_per_s: Math.round(s.events / Math.max(time.elapsed_s, 1e-9)),
    events_per_cpu_s: Math.round(s.events / Math.max(time.cpu_s, 1e-9)),
  };
}
