/**
 * The simulator's command line (`npm run sim -- [options]`, entry cli.ts):
 * run many seeds of the deterministic simulator, print one line per failing
 * seed with the command that replays it, a summary of the contention
 * figures, and exit 1 on any safety violation. With `--sweep`, run a grid of
 * points over the same seeds (sweep-run.ts). Bad flags exit 2 with a
 * one-line reason, before any work. In-process callable (tests), so it
 * writes through `Io` and returns the exit code.
 */
import { parseArgs } from 'node:util';
import { POLICY_OPTIONS, policyHelp } from '../cli/policy-flags.js';
import { parseInteger } from '../base/units.js';
import { describePlan } from './faults.js';
import { BUGS, checkSpec, clusterOf, isParamKey, PARAM_HELP, parseRunSpec, type RunSpec } from './flags.js';
import { METRICS, type MetricName } from './metrics.js';
import { summarize, type SeedOutcome } from './outcome.js';
import { THREADS_MAX } from './pool.js';
import { runSeed } from './run-seed.js';
import { seedLine, summaryJson, summaryText } from './summary.js';
import { checkSweeps, expandPoints, parseSweep, pointLabel, type Sweep } from './sweep.js';
import { defaultThreads, runSweep, type SweepOutcome, type SweepPlan } from './sweep-run.js';
import type { Point } from './sweep.js';
import { join } from 'node:path';
import { esc } from '../report/html.js';
import { checkTimelinePath, timelineFor } from './ballot-timeline.js';
import { writeFileSync } from 'node:fs';

const HELP = `usage: npm run sim -- [options]
  --seed N                 first seed (default 1)
  --seeds N                how many consecutive seeds (default 100)
${Object.entries(PARAM_HELP).filter(([k]) => k !== 'policy').map(([k, [arg, text]]) => `  ${`--${k} ${arg}`.padEnd(24)} ${text}`).join('\n')}
  --link A-B=MODEL         latency of the links between A and B (A>B: one way; * for every node); repeatable
  --bug NAME               plant a known bug (${BUGS.join(', ')})
  --trace                  print the last events of each failing seed
  --per-seed               print one line of figures per seed (default when --seeds is at most 20)
  --json                   print one JSON summary as the last line
  --timeline FILE.svg      draw the run's ballot timeline (one seed: --seed S): who held which ballot when, per slot
sweeps:
  --sweep KEY=A,B,C        run every combination of the swept keys (any option above, or a policy flag); repeatable;
                           POLICY:KEY=... sweeps KEY only at points of that policy; A/B=1/2,3/4 moves keys together;
                           separate values by ';' when they hold commas
  --baseline KEY=VALUE     compare each point with the one that differs only in KEY=VALUE (default: with the next point)
  --compare M,M            metrics to compare (default attempts_per_proposal,messages_per_commit,latency_ms_p99,makespan_ms)
  --threads N              worker threads (default: the cores, ${defaultThreads()} here)
  --out DIR                results root (default results); each sweep writes DIR/<timestamp>/
  --timeline-point N       add the ballot timeline of point N (as numbered [N/...]) to report.html (and timeline.svg)
  --timeline-seed S        the seed of that timeline (default the first seed)
${policyHelp()}`;

const FLAG_OPTIONS = {
  ...POLICY_OPTIONS,
  ...Object.fromEntries(Object.keys(PARAM_HELP).map((k) => [k, { type: 'string' as const }])),
  seed: { type: 'string' }, seeds: { type: 'string' }, link: { type: 'string', multiple: true }, bug: { type: 'string' },
  trace: { type: 'boolean' }, 'per-seed': { type: 'boolean' }, json: { type: 'boolean' },
  sweep: { type: 'string', multiple: true }, baseline: { type: 'string' }, compare: { type: 'string' }, threads: { type: 'string' }, out: { type: 'string' },
  timeline: { type: 'string' }, 'timeline-point': { type: 'string' }, 'timeline-seed': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'error';
}

function str(values: Values, k: string): string | undefined {
  const v = values[k];
  return typeof v === 'string' ? v : undefined;
}

function list(values: Values, k: string): string[] {
  const v = values[k];
  return Array.isArray(v) ? v : [];
}

/** The run parameters the user set, by flag name. */
function paramsOf(values: Values): Map<string, string> {
  const params = new Map<string, string>();
  for (const [k, v] of Object.entries(values)) if (isParamKey(k) && typeof v === 'string') params.set(k, v);
  return params;
}

/** parseArgs over the simulator's flags; an unknown or malformed flag is a one-line RangeError. */
function parseValues(argv: string[]): Values {
  try {
    return parseArgs({ args: argv, options: FLAG_OPTIONS, strict: true, allowPositionals: false }).values as Values;
  } catch (e) {
    throw new RangeError(firstLine(e));
  }
}

function seedRange(values: Values): { seed0: number; seeds: number } {
  // A timeline draws one run: one seed unless told otherwise (and then refused).
  const dflt = values.timeline === undefined ? '100' : '1';
  return {
    seed0: parseInteger('seed', str(values, 'seed') ?? '1', -0x80000000, 0x7fffffff),
    seeds: parseInteger('seeds', str(values, 'seeds') ?? dflt, 1, 10_000_000),
  };
}

/** Runs the command line `argv` (without node and the script); returns the exit code: 0, 1 (a violation or liveness failure) or 2 (bad flags). */
export async function runCli(argv: string[], io: Io): Promise<number> {
  let job: () => Promise<number>;
  try {
    const values = parseValues(argv);
    if (values.help === true) {
      io.out(`${HELP}\n`);
      return 0;
    }
    job = prepare(values, argv, io);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    io.err(`sim: ${e.message}\n`);
    return 2;
  }
  return job();
}

/** Checks every flag (a RangeError on the first bad one) and returns the work to do. */
function prepare(values: Values, argv: string[], io: Io): () => Promise<number> {
  const sweeping = list(values, 'sweep').length > 0;
  for (const k of ['baseline', 'compare', 'threads', 'out', 'timeline-point', 'timeline-seed']) if (!sweeping && values[k] !== undefined) throw new RangeError(`--${k} needs --sweep`);
  for (const k of ['trace', 'per-seed']) if (sweeping && values[k] !== undefined) throw new RangeError(`--${k} does not apply to a sweep (see runs.csv)`);
  if (sweeping && values.timeline !== undefined) throw new RangeError('--timeline draws one run; in a sweep, name a point with --timeline-point N');
  const { seed0, seeds } = seedRange(values);
  const timeline = str(values, 'timeline');
  if (timeline !== undefined) {
    checkTimelinePath(timeline);
    if (seeds !== 1) throw new RangeError(`--timeline draws one run: give one seed (--seed S), not --seeds ${seeds}`);
  }
  if (sweeping) {
    const plan = sweepPlan(values, argv, seed0, seeds);
    return () => sweep(values, plan, io);
  }
  const spec = parseRunSpec(paramsOf(values), list(values, 'link'), str(values, 'bug'), values.trace === true);
  checkSpec(spec, seed0, seeds);
  return async () => plain(values, argv, spec, seed0, seeds, io);
}

function plain(values: Values, argv: string[], spec: RunSpec, seed0: number, seeds: number, io: Io): number {
  const perSeed = values['per-seed'] === true || seeds <= 20;
  // Known to livelock: its liveness failures are reported, not counted as failures.
  const livenessExpected = spec.policy.name !== 'immediate';
  // The replay line names the seed and the cluster itself: drop those flags (and their values) from the rest.
  const own = ['--seed', '--seeds', '--replicas', '--proposers'];
  const passthrough = argv.filter((a, i, all) => !own.includes(a) && !own.includes(all[i - 1] ?? ''));
  const outcomes: SeedOutcome[] = [];
  const timeline = str(values, 'timeline');
  if (timeline !== undefined) {
    const { replicas, proposers } = clusterOf(spec, seed0);
    const title = `Ballot timeline: ${spec.policy.name}, ${replicas} acceptors, ${proposers} proposers, seed ${seed0}`;
    const { svg } = timelineFor(spec, seed0, title, `npm run sim -- ${argv.join(' ')}`);
    writeFileSync(timeline, svg);
    io.out(`timeline of seed ${seed0} in ${timeline}\n`);
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < seeds; i++) {
    const { outcome: o, result: r } = runSeed(spec, seed0 + i);
    outcomes.push(o);
    if (perSeed) io.out(`${seedLine(o)}\n`);
    if (o.violations > 0 || (o.livenessFailure !== null && (livenessExpected || seeds === 1))) {
      const what = o.firstViolation !== null ? `VIOLATION ${o.firstViolation}` : `LIVENESS ${o.livenessFailure}`;
      io.out(`seed ${o.seed} (${o.replicas} replicas, ${o.proposers} proposers; ${describePlan(r.plan)}): ${what}\n`);
      io.out(`  replay: npm run sim -- --seed ${o.seed} --seeds 1 --replicas ${o.replicas} --proposers ${o.proposers} ${passthrough.join(' ')}\n`.replace(/ +\n$/, '\n'));
      for (const line of r.trace) io.out(`    ${line}\n`);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const time = { elapsed_s: (performance.now() - t0) / 1000, cpu_s: (cpu.user + cpu.system) / 1e6 };
  const s = summarize(outcomes);
  io.out(summaryText(spec, s, livenessExpected, outcomes, time));
  if (values.json === true) io.out(`${JSON.stringify(summaryJson(spec, s, seed0, livenessExpected, outcomes, time))}\n`);
  return s.violations > 0 || (livenessExpected && s.livenessFailures > 0) ? 1 : 0;
}

/** A sweep's plan from its command line (the study builds its figures this way); throws a one-line RangeError. */
export function sweepPlanFromArgv(argv: string[]): SweepPlan {
  const values = parseValues(argv);
  if (list(values, 'sweep').length === 0) throw new RangeError('a sweep needs --sweep');
  const { seed0, seeds } = seedRange(values);
  return sweepPlan(values, argv, seed0, seeds);
}

/** Validates every point before any runs (a RangeError on the first bad one). */
function sweepPlan(values: Values, argv: string[], seed0: number, seeds: number): SweepPlan {
  const base = paramsOf(values);
  const sweeps: Sweep[] = list(values, 'sweep').map(parseSweep);
  checkSweeps(sweeps, new Set(base.keys()));
  const points = expandPoints(sweeps, base.get('policy') ?? 'exponential');
  if (points.length * seeds > 10_000_000) throw new RangeError(`${points.length} points x ${seeds} seeds is above 10,000,000 runs`);
  const specs = points.map((p) => {
    try {
      const spec = parseRunSpec(new Map([...base, ...p]), list(values, 'link'), str(values, 'bug'), false);
      checkSpec(spec, seed0, seeds);
      return spec;
    } catch (e) {
      throw e instanceof RangeError ? new RangeError(`sweep point ${pointLabel(p)}: ${e.message}`) : e;
    }
  });
  const command = `npm run sim -- ${argv.join(' ')}`;
  const pointRaw = str(values, 'timeline-point');
  if (pointRaw === undefined && values['timeline-seed'] !== undefined) throw new RangeError('--timeline-seed needs --timeline-point');
  const point = pointRaw === undefined ? null : parseInteger('timeline-point', pointRaw, 1, points.length) - 1;
  const timelineSeed = parseInteger('timeline-seed', str(values, 'timeline-seed') ?? String(seed0), -0x80000000, 0x7fffffff);
  return {
    command, sweeps, points, specs, seed0, seeds,
    ...(point === null ? {} : { reportSections: (r: SweepOutcome) => [timelineSection(specs[point] as RunSpec, points[point] as Point, point, timelineSeed, command, r.dir)] }),
    threads: parseInteger('threads', str(values, 'threads') ?? String(defaultThreads()), 1, THREADS_MAX),
    outRoot: str(values, 'out') ?? 'results',
    baseline: parseBaseline(str(values, 'baseline'), sweeps),
    compareMetrics: parseMetrics(str(values, 'compare') ?? 'attempts_per_proposal,messages_per_commit,latency_ms_p99,makespan_ms'),
  };
}

/** The ballot timeline of one point and seed, for report.html (also written as timeline.svg beside it). */
function timelineSection(spec: RunSpec, p: Point, i: number, seed: number, command: string, dir: string): { title: string; html: string } {
  const replay = `${command.replace(/ --sweep \S+| --(threads|out|baseline|compare|timeline-point|timeline-seed|seeds|seed) \S+/g, '')} ${[...p].map(([k, v]) => `--${k} ${v}`).join(' ')} --seed ${seed} --timeline timeline.svg`;
  const { svg } = timelineFor(spec, seed, `Ballot timeline: point ${i + 1} (${pointLabel(p)}), seed ${seed}`, replay);
  writeFileSync(join(dir, 'timeline.svg'), svg);
  return {
    title: `Ballot timeline: point ${i + 1} (${pointLabel(p)}), seed ${seed}`,
    html: `<p class="meta">Who held which ballot when; hover a mark for its details. Replay: <code>${esc(replay)}</code></p><div class="scroll" data-timeline>${svg}</div>`,
  };
}

async function sweep(values: Values, plan: SweepPlan, io: Io): Promise<number> {
  const r = await runSweep(plan, (line) => io.out(line));
  if (values.json === true) io.out(`${JSON.stringify({ dir: r.dir, points: plan.points.map((p) => pointLabel(p)), summaries: r.summaries })}\n`);
  return r.summaries.some((s) => s.violations > 0) ? 1 : 0;
}

function parseBaseline(raw: string | undefined, sweeps: readonly Sweep[]): { key: string; value: string } | null {
  if (raw === undefined) return null;
  const eq = raw.indexOf('=');
  const key = raw.slice(0, eq);
  const value = raw.slice(eq + 1);
  const s = sweeps.find((x) => x.keys.length === 1 && x.key === key);
  if (eq <= 0 || s === undefined) throw new RangeError(`--baseline must be KEY=VALUE with KEY swept, got '${raw}'`);
  if (!s.values.includes(value)) throw new RangeError(`--baseline ${raw}: ${key} is swept over ${s.values.join(',')}`);
  return { key, value };
}

function parseMetrics(raw: string): MetricName[] {
  const names = raw.split(',').map((m) => m.trim());
  for (const m of names) if (!(METRICS as readonly string[]).includes(m)) throw new RangeError(`--compare: unknown metric '${m}' (one of ${METRICS.join(', ')})`);
  return names as MetricName[];
}
