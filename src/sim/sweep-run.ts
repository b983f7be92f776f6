/**
 * Runs a sweep: every point of the grid over the same seeds, spread over
 * worker threads, into `results/<timestamp>/`: args.json, results.csv (one
 * row per point as it completes: every parameter, then each metric's mean
 * and 95% half-width over the seeds), runs/seeds.csv (one row per point and
 * seed, for paired comparisons elsewhere) and report.html. Prints each point
 * as it completes, then paired differences between points.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { CsvWriter, newResultsDir, writeArgs, type Row } from '../report/results.js';
import { round3 } from '../report/stats.js';
import { specColumns, type RunSpec } from './flags.js';
import { METRICS, SIM_SCHEMA_VERSION, type MetricName } from './metrics.js';
import { summarize, type SeedOutcome, type Summary } from './outcome.js';
import { runSeeds, type Task } from './pool.js';
import { HEADLINE_METRICS, sweepHtml } from './report-html.js';
import { metricsJson } from './summary.js';
import { compare, comparisonPairs, formatComparison, pointLabel, type Point, type Sweep } from './sweep.js';

export interface SweepPlan {
  command: string;
  sweeps: Sweep[];
  points: Point[];
  specs: RunSpec[];
  seed0: number;
  seeds: number;
  threads: number;
  outRoot: string;
  baseline: { key: string; value: string } | null;
  compareMetrics: MetricName[];
}

export interface SweepOutcome {
  dir: string;
  summaries: Summary[];
  outcomes: SeedOutcome[][];
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), 64));
}

function commit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function pointRow(i: number, spec: RunSpec, s: Summary, seed0: number): Row {
  const row: Row = { point: i, ...specColumns(spec), seeds: s.seeds, seed_first: seed0, violations: s.violations, liveness_failures: s.livenessFailures };
  const { means, ci95 } = metricsJson(s);
  for (const m of METRICS) {
    row[`${m}_mean`] = means[m] ?? null;
    row[`${m}_ci95`] = ci95[m] ?? null;
  }
  row.events = s.events;
  return row;
}

function seedRow(i: number, p: Point, o: SeedOutcome): Row {
  const row: Row = { point: i, label: pointLabel(p), seed: o.seed, replicas: o.replicas, proposers: o.proposers, violations: o.violations, live: o.livenessFailure === null };
  for (const m of METRICS) row[m] = Number.isFinite(o.metrics[m]) ? round3(o.metrics[m]) : null;
  return row;
}

function pointLine(i: number, n: number, label: string, s: Summary): string {
  const m = (k: MetricName, unit = ''): string => {
    const v = s.metrics[k];
    if (!Number.isFinite(v.mean)) return `${k} -`;
    return `${k} ${round3(v.mean)}${Number.isFinite(v.ci95) ? ` ±${round3(v.ci95)}` : ''}${unit}`;
  };
  const bad = s.violations > 0 ? `, ${s.violations} seeds with VIOLATIONS` : '';
  const dead = s.livenessFailures > 0 ? `, ${s.livenessFailures} not live` : '';
  return `[${i + 1}/${n}] ${label}: ${m('attempts_per_proposal')}, ${m('wasted_ballots_per_proposal')}, ${m('messages_per_commit')}, ${m('latency_ms_p99')}, ${m('makespan_ms')}${bad}${dead}\n`;
}

export async function runSweep(plan: SweepPlan, write: (line: string) => void): Promise<SweepOutcome> {
  const dir = newResultsDir(plan.outRoot);
  writeArgs(dir, {
    tool: 'sim', config_columns: Object.keys(specColumns(plan.specs[0] as RunSpec)), metric_columns: [...METRICS], center: 'mean', sample_column: null,
    sim_schema_version: SIM_SCHEMA_VERSION, command: plan.command, seed_first: plan.seed0, seeds: plan.seeds,
    threads: plan.threads, sweeps: plan.sweeps, points: plan.points.map((p) => pointLabel(p)), node: process.version, commit: commit(),
  });
  const csv = new CsvWriter(dir);
  const seedCsv = new CsvWriter(join(dir, 'runs'), 'seeds.csv');
  const tasks: Task[] = [];
  plan.specs.forEach((spec) => {
    for (let k = 0; k < plan.seeds; k++) tasks.push({ spec, seed: plan.seed0 + k });
  });
  const outcomes: SeedOutcome[][] = plan.points.map(() => new Array<SeedOutcome>(plan.seeds));
  const left = plan.points.map(() => plan.seeds);
  const summaries: Summary[] = new Array<Summary>(plan.points.length);
  await runSeeds(tasks, plan.threads, (t, o) => {
    const i = Math.floor(t / plan.seeds);
    (outcomes[i] as SeedOutcome[])[t % plan.seeds] = o;
    if (--(left[i] as number) > 0) return;
    const s = summarize(outcomes[i] as SeedOutcome[]);
    summaries[i] = s;
    csv.append(pointRow(i, plan.specs[i] as RunSpec, s, plan.seed0));
    for (const so of outcomes[i] as SeedOutcome[]) seedCsv.append(seedRow(i, plan.points[i] as Point, so));
    write(pointLine(i, plan.points.length, pointLabel(plan.points[i] as Point, plan.sweeps), s));
  });
  const metrics = [...new Set([...HEADLINE_METRICS, ...plan.compareMetrics])];
  const seedRange = `${plan.seed0}..${plan.seed0 + plan.seeds - 1}`;
  writeFileSync(join(dir, 'report.html'), sweepHtml({ command: plan.command, seeds: seedRange, sweeps: plan.sweeps, points: plan.points, summaries, metrics }));
  const pairs = comparisonPairs(plan.points, plan.baseline);
  if (pairs.length > 0) write(`paired differences (b - a over the same seeds, 95% interval):\n`);
  for (const [a, b] of pairs) {
    for (const m of plan.compareMetrics) {
      const label = `${pointLabel(plan.points[a] as Point, plan.sweeps)} -> ${pointLabel(plan.points[b] as Point, plan.sweeps)}`;
      write(`${formatComparison(label, m, compare(outcomes[a] as SeedOutcome[], outcomes[b] as SeedOutcome[], m))}\n`);
    }
  }
  const events = summaries.reduce((a, x) => a + x.events, 0);
  const thread_s = summaries.reduce((a, x) => a + x.wall_ms, 0) / 1000;
  write(`${events} events in ${round3(thread_s)} s of thread time (${Math.round(events / Math.max(thread_s, 1e-9))} events/s per thread, ${plan.threads} threads)\n`);
  write(`results in ${dir}\n`);
  return { dir, summaries, outcomes };
}
