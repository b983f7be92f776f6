/**
 * What one seed's run reports (small and plain: it crosses back from sweep
 * workers), and the summary of many seeds: every metric's mean and 95%
 * t-interval over the seeds (a run whose metric is undefined, such as
 * latency with nothing committed, is left out of that metric's mean).
 */
import { meanCi95, type Interval } from '../report/stats.js';
import { METRICS, type MetricName, type RunMetrics } from './metrics.js';
import type { SimResult } from './simulator.js';

export interface SeedOutcome {
  seed: number;
  replicas: number;
  proposers: number;
  violations: number;
  /** `invariant: detail` of the first violation, or null. */
  firstViolation: string | null;
  livenessFailure: string | null;
  events: number;
  wall_ms: number;
  malformedDropped: number;
  timeouts: number;
  leaderChanges: number;
  leaseExpiries: number;
  metrics: RunMetrics;
}

export function outcomeOf(r: SimResult, replicas: number, proposers: number, wall_ms: number): SeedOutcome {
  const v = r.violations[0];
  return {
    seed: r.seed, replicas, proposers, violations: r.violations.length, firstViolation: v === undefined ? null : `${v.invariant}: ${v.detail}`,
    livenessFailure: r.livenessFailure, events: r.events, wall_ms, malformedDropped: r.malformedDropped,
    timeouts: r.stats.timeouts, leaderChanges: r.stats.leaderChanges, leaseExpiries: r.stats.leaseExpiries, metrics: r.metrics,
  };
}

export interface Summary {
  seeds: number;
  violations: number;
  livenessFailures: number;
  events: number;
  wall_ms: number;
  metrics: Record<MetricName, Interval>;
}

/** Mean and 95% interval of each metric over the seeds, skipping undefined (NaN) values. */
export function summarize(outcomes: readonly SeedOutcome[]): Summary {
  const metrics = {} as Record<MetricName, Interval>;
  for (const m of METRICS) metrics[m] = meanCi95(definedValues(outcomes, m));
  let violations = 0;
  let livenessFailures = 0;
  let events = 0;
  let wall_ms = 0;
  for (const o of outcomes) {
    if (o.violations > 0) violations++;
    if (o.livenessFailure !== null) livenessFailures++;
    events += o.events;
    wall_ms += o.wall_ms;
  }
  return { seeds: outcomes.length, violations, livenessFailures, events, wall_ms, metrics };
}

function definedValues(outcomes: readonly SeedOutcome[], m: MetricName): number[] {
  const xs: number[] = [];
  for (const o of outcomes) if (Number.isFinite(o.metrics[m])) xs.push(o.metrics[m]);
  return xs;
}

/** Per-seed values of `m`, aligned by position (NaN where undefined), for paired comparisons. */
export function seedValues(outcomes: readonly SeedOutcome[], m: MetricName): number[] {
  return outcomes.map((o) => o.metrics[m]);
}
