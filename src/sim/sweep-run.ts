/**
 * Runs a sweep: every point of the grid over the same seeds, spread over
 * worker threads, into `results/<timestamp>/` by src/report's contract
 * (src/report/results.ts): args.json (the command, the configuration and
 * metric columns, the swept columns, seeds and commit), runs.csv (one row
 * per point and seed, appended as each seed ends: every parameter, the seed
 * and each metric's raw value), results.csv (one row per point as it
 * completes: every parameter, then each metric's estimate columns: mean, 95%
 * interval, min, max) and report.html (src/report/html.ts). Prints each
 * point as it completes, then paired differences between points.
 */
import { execFileSync } from 'node:child_process';
import { rmdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeReport, type ReportExtras } from '../report/html.js';
import { CsvWriter, RESULTS_FILE, SAMPLES_FILE, estimateCells, newResultsDir, writeArgs, type Row } from '../report/results.js';
import { estimate, round3 } from '../report/stats.js';
import { columnOf, specColumns, type ParamKey, type RunSpec } from './flags.js';
import { METRICS, SIM_SCHEMA_VERSION, type MetricName } from './metrics.js';
import { summarize, type SeedOutcome, type Summary } from './outcome.js';
import { runSeeds, type Task } from './pool.js';
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
  /** Extra sections for report.html (a ballot timeline of one point), built once the sweep has run; may write files into the folder. */
  reportSections?: (outcome: SweepOutcome) => NonNullable<ReportExtras['sections']>;
}

export interface SweepOutcome {
  dir: string;
  summaries: Summary[];
  outcomes: SeedOutcome[][];
  /** The paired differences printed, one line each. */
  comparisons: string[];
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

/** The results.csv row of a point: its parameters, its seeds, then each metric's estimate over them. */
export function pointRow(spec: RunSpec, outcomes: readonly SeedOutcome[], s: Summary): Row {
  const row: Row = { ...specColumns(spec), samples: s.seeds, violations: s.violations, liveness_failures: s.livenessFailures };
  for (const m of METRICS) Object.assign(row, estimateCells(m, estimate(outcomes.map((o) => o.metrics[m])), 'mean'));
  row.events = s.events;
  return row;
}

/** The runs.csv row of one seed at a point: its parameters, the seed, and each metric's raw value (empty when undefined). */
function seedRow(spec: RunSpec, o: SeedOutcome): Row {
  // The parameters as results.csv has them (so rows match across folders); `cluster` says what a by-seed size drew.
  const row: Row = { ...specColumns(spec), seed: o.seed, cluster: `${o.replicas}/${o.proposers}`, violations: o.violations, live: o.livenessFailure === null };
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

/** The columns the sweep varies, in sweep order (args.json's swept_columns: the report's axes follow it). */
function sweptColumns(sweeps: readonly Sweep[]): string[] {
  return [...new Set(sweeps.filter((s) => s.values.length > 1).flatMap((s) => s.keys.map((k) => columnOf(k as ParamKey))))];
}

/** Sentences for the report's findings that only the simulator knows. */
function notes(plan: SweepPlan, summaries: readonly Summary[]): string[] {
  const out: string[] = [`Seeds ${plan.seed0}..${plan.seed0 + plan.seeds - 1} at every point (common random numbers): points compare seed by seed.`];
  plan.points.forEach((p, i) => {
    const s = summaries[i] as Summary;
    if (s.violations > 0) out.push(`${pointLabel(p, plan.sweeps)}: ${s.violations} of ${s.seeds} seeds broke a safety invariant (runs.csv names them).`);
    if (s.livenessFailures > 0) out.push(`${pointLabel(p, plan.sweeps)}: ${s.livenessFailures} of ${s.seeds} seeds did not finish (their makespan is undefined and left out).`);
  });
  return out;
}

function comparisonSection(lines: readonly string[]): { title: string; html: string } {
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return { title: 'Paired differences (b - a over the same seeds, 95% interval)', html: `<pre>${lines.map(esc).join('\n')}</pre>` };
}

export async function runSweep(plan: SweepPlan, write: (line: string) => void): Promise<SweepOutcome> {
  const dir = newResultsDir(plan.outRoot);
  rmdirSync(join(dir, 'runs')); // the bench keeps per-run JSON there; a sweep's per-seed rows are runs.csv
  const first = plan.specs[0] as RunSpec;
  writeArgs(dir, {
    tool: 'sim', command: plan.command, config_columns: Object.keys(specColumns(first)), metric_columns: [...METRICS], center: 'mean', sample_column: 'seed',
    swept_columns: sweptColumns(plan.sweeps), sim_schema_version: SIM_SCHEMA_VERSION, seed_first: plan.seed0, seeds: plan.seeds,
    threads: plan.threads, sweeps: plan.sweeps, points: plan.points.map((p) => pointLabel(p)), when: new Date().toISOString(), node: process.version, commit: commit(),
  });
  const results = new CsvWriter(dir, RESULTS_FILE);
  const runs = new CsvWriter(dir, SAMPLES_FILE);
  const tasks: Task[] = [];
  for (const spec of plan.specs) for (let k = 0; k < plan.seeds; k++) tasks.push({ spec, seed: plan.seed0 + k });
  const outcomes: SeedOutcome[][] = plan.points.map(() => new Array<SeedOutcome>(plan.seeds));
  const left = plan.points.map(() => plan.seeds);
  const summaries: Summary[] = new Array<Summary>(plan.points.length);
  await runSeeds(tasks, plan.threads, (t, o) => {
    const i = Math.floor(t / plan.seeds);
    const spec = plan.specs[i] as RunSpec;
    (outcomes[i] as SeedOutcome[])[t % plan.seeds] = o;
    runs.append(seedRow(spec, o));
    if (--(left[i] as number) > 0) return;
    const s = summarize(outcomes[i] as SeedOutcome[]);
    summaries[i] = s;
    results.append(pointRow(spec, outcomes[i] as SeedOutcome[], s));
    write(pointLine(i, plan.points.length, pointLabel(plan.points[i] as Point, plan.sweeps), s));
  });
  const comparisons: string[] = [];
  for (const [a, b] of comparisonPairs(plan.points, plan.baseline)) {
    for (const m of plan.compareMetrics) {
      const label = `${pointLabel(plan.points[a] as Point, plan.sweeps)} -> ${pointLabel(plan.points[b] as Point, plan.sweeps)}`;
      comparisons.push(formatComparison(label, m, compare(outcomes[a] as SeedOutcome[], outcomes[b] as SeedOutcome[], m)));
    }
  }
  if (comparisons.length > 0) write(`paired differences (b - a over the same seeds, 95% interval):\n${comparisons.join('\n')}\n`);
  const sections = [...(comparisons.length > 0 ? [comparisonSection(comparisons)] : []), ...(plan.reportSections?.({ dir, summaries, outcomes, comparisons }) ?? [])];
  writeReport(dir, { notes: notes(plan, summaries), sections });
  const events = summaries.reduce((a, x) => a + x.events, 0);
  const thread_s = summaries.reduce((a, x) => a + x.wall_ms, 0) / 1000;
  write(`${events} events in ${round3(thread_s)} s of thread time (${Math.round(events / Math.max(thread_s, 1e-9))} events/s per thread, ${plan.threads} threads)\n`);
  write(`results in ${dir}\n`);
  return { dir, summaries, outcomes, comparisons };
}
