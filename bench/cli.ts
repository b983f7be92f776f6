/**
 * `npm run bench -- [options]`: measure the limit, run every configuration
 * (--repeat times, interleaved), and write results/<timestamp>/ as it goes:
 * args.json first, one runs.csv row and one runs/*.json per finished run,
 * one results.csv row per configuration once its last repeat ended, then
 * report.html; print a table, and with --json a JSON summary as the last line.
 * `npm run bench -- compare A B` compares two results folders (compare-cli.ts).
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { compareMain } from './compare-cli.js';
import { writeRealTimeline } from './timeline.js';
import { measureLimit, type Limit } from './limit.js';
import { commit, machine } from './machine.js';
import { OptionError, columnsOf, helpText, optionColumns, parseArgs, type ParsedArgs } from './options.js';
import { interleave } from './plan.js';
import { Progress } from './progress.js';
import { benchExtras, type ConfigRuns } from './report.js';
import { runOnce } from './run.js';
import { BENCH_METRICS, mergedHistogram, summarize, type BenchMetric, type RunSummary } from './summary.js';
import { renderTable, spread, type TableRow } from './table.js';
import { writeReport } from '../src/report/html.js';
import { CsvWriter, RESULTS_FILE, RESULTS_SCHEMA_VERSION, SAMPLES_FILE, estimateCells, newResultsDir, writeArgs, type Row } from '../src/report/results.js';
import { MIN_RUNS_FOR_VERDICT, estimate, type Estimate } from '../src/report/stats.js';

const LIMIT_MEASURE_MS = 300;

function decisionsPath(args: ParsedArgs, step: number, steps: number): string | null {
  const f = args.global.decisions;
  if (f === null) return null;
  return steps > 1 ? `${f}.${step + 1}` : f;
}

function parseOrExit(argv: string[]): ParsedArgs | number {
  try {
    const args = parseArgs(argv);
    for (const [flag, f] of [['decisions', args.global.decisions], ['timeline', args.global.timeline]] as const) {
      if (f !== null && !(existsSync(dirname(resolve(f))) && statSync(dirname(resolve(f))).isDirectory())) {
        throw new OptionError(`--${flag}: directory ${dirname(resolve(f))} does not exist`);
      }
    }
    return args;
  } catch (e) {
    if (e instanceof OptionError) {
      process.stderr.write(`synod bench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function estimates(runs: readonly RunSummary[]): Record<BenchMetric, Estimate> {
  const out = {} as Record<BenchMetric, Estimate>;
  for (const m of BENCH_METRICS) out[m] = estimate(runs.map((r) => r.metrics[m]).filter((v): v is number => v !== null));
  return out;
}

/** The results.csv row of a configuration: its inputs, how many runs, whether all settled, each metric's estimate. */
function resultRow(c: ConfigRuns, est: Record<BenchMetric, Estimate>): Row {
  const row: Row = { ...(c.runs[0]?.config ?? {}), samples: c.runs.length, settled: c.runs.every((r) => r.settled) };
  for (const m of BENCH_METRICS) Object.assign(row, estimateCells(m, est[m], 'median'));
  return row;
}

function runRow(s: RunSummary): Row {
  return { ...s.config, repeat: s.repeat, settled: s.settled, ...s.metrics };
}

async function measureLimits(args: ParsedArgs, say: (line: string) => void): Promise<Map<number, Limit>> {
  const limits = new Map<number, Limit>();
  for (const replicas of new Set(args.runs.map((r) => r.replicas))) {
    say(`measuring the limit (${replicas} workers)...`);
    const windows = [...new Set(args.runs.filter((r) => r.replicas === replicas).map((r) => r.policy.params.window))];
    limits.set(replicas, await measureLimit({ replicas, windows, duration_ms: LIMIT_MEASURE_MS }));
  }
  return limits;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'compare') {
    return compareMain(argv.slice(1), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
  }
  const parsed = parseOrExit(argv);
  if (typeof parsed === 'number') return parsed;
  const args = parsed;
  if (args.global.help) {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const timeline = args.global.timeline;
  const first = args.runs[0];
  if (timeline !== null && first !== undefined) {
    const run = { replicas: first.replicas, proposers: first.proposers, policy: first.policy, seed: first.seed };
    process.stdout.write(`${await writeRealTimeline(timeline, run, `npm run bench -- ${argv.join(' ')}`)}\n`);
    return 0;
  }
  const m = machine();
  const commitId = commit();
  const dir = newResultsDir(args.global.out);
  const command = `npm run bench -- ${argv.join(' ')}`.trim();
  writeArgs(dir, {
    tool: 'bench', command, config_columns: optionColumns(), metric_columns: BENCH_METRICS, center: 'median', sample_column: 'repeat',
    swept_columns: args.global.sweep.flatMap((s) => columnsOf(s.key)),
    argv, when: new Date().toISOString(), repeat: args.global.repeat, sweep: args.global.sweep, global: args.global, machine: m, commit: commitId,
  });
  const plan = interleave(args.runs.length, args.global.repeat);
  const say = (line: string): void => void (args.global.quiet || process.stderr.write(`synod bench: ${line}\n`));
  const limits = await measureLimits(args, say);
  // Started after the limit, so the time left is estimated from runs alone.
  const progress = args.global.quiet ? null : new Progress(plan.length);

  const configs: ConfigRuns[] = args.runs.map((_, i) => ({ label: args.labels[i] ?? '', runs: [], latency: mergedHistogram([]) }));
  const samples = new CsvWriter(dir, SAMPLES_FILE);
  const results = new CsvWriter(dir, RESULTS_FILE);
  const table: TableRow[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'synod-bench-'));
  try {
    for (const [step, { config, repeat }] of plan.entries()) {
      const opts = args.runs[config];
      const c = configs[config];
      if (opts === undefined || c === undefined) throw new Error(`no configuration ${config}`);
      const runScratch = mkdtempSync(join(scratch, 'run-'));
      const raw = await runOnce(opts, opts.runtime, { scratch: runScratch, decisions: decisionsPath(args, step, plan.length) });
      const inline = args.global.compare_inline && opts.runtime === 'threads'
        ? await runOnce(opts, 'inline', { scratch: mkdtempSync(join(scratch, 'run-')), decisions: null })
        : null;
      const limit = limits.get(opts.replicas);
      if (limit === undefined) throw new Error('no limit measured for this replica count');
      const s = summarize(raw, c.label, repeat, limit, inline);
      c.runs.push(s);
      c.latency.add(mergedHistogram(raw.metrics.map((x) => x.latency_us)));
      const name = `${String(step + 1).padStart(3, '0')}${c.label === '' ? '' : '-' + c.label.replace(/[^a-zA-Z0-9=.-]+/g, '_')}${args.global.repeat > 1 ? `-r${repeat + 1}` : ''}`;
      writeFileSync(join(dir, 'runs', `${name}.json`), JSON.stringify({ ...s, options: opts, limit, final: raw.final }, null, 2));
      samples.append(runRow(s));
      rmSync(runScratch, { recursive: true, force: true });
      if (repeat === args.global.repeat - 1) {
        const est = estimates(c.runs);
        results.append(resultRow(c, est));
        table[config] = { label: c.label, runtime: opts.runtime, estimates: est, settled: c.runs.every((r) => r.settled) };
      }
      const what = `${c.label || 'run'}${args.global.repeat > 1 ? ` (repeat ${repeat + 1}/${args.global.repeat})` : ''}`;
      progress?.runDone(what, `${Math.round(s.metrics.decisions_per_s ?? 0)} decisions/s, p99 ${s.metrics.latency_us_p99} us${s.settled ? '' : ', NOT settled'}`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const report = writeReport(dir, benchExtras(configs, [...limits.values()]));
  printSummary(args, m, commitId, limits, table, report, dir);
  if (args.global.json) process.stdout.write(JSON.stringify(jsonSummary(configs, table, m, commitId)) + '\n');
  return 0;
}

function printSummary(args: ParsedArgs, m: ReturnType<typeof machine>, commitId: string, limits: Map<number, Limit>, table: TableRow[], report: string, dir: string): void {
  const l = [...limits.values()][0];
  const out: string[] = [`synod bench on ${m.cpu}, ${m.cores} cores, Node ${m.node}, commit ${commitId}`];
  if (l !== undefined) {
    out.push(`limit: rtt p50 ${l.rtt_us.toFixed(1)} us, one-way ${Math.round(l.msgs_per_s)} msgs/s, batched ${Math.round(l.batched_msgs_per_s)} msgs/s, bare phase-2 loop ${Object.entries(l.bare_loop_decisions_per_s).map(([w, v]) => `w${w} ${Math.round(v)}/s`).join(', ')}, bare two-phase decision p50 ${l.bare_two_phase_us.toFixed(1)} us, a post ${l.post_to_idle_us.toFixed(1)} us to a sleeping worker and ${l.post_to_busy_us.toFixed(1)} us to a busy one`);
  }
  if (args.global.repeat > 1) out.push(`${args.global.repeat} runs per configuration: median (min-max), from 3 runs ±half-width of the 95% CI of the mean`);
  if (args.global.repeat < MIN_RUNS_FOR_VERDICT && table.length > 1) {
    out.push(`note: with ${args.global.repeat} run${args.global.repeat === 1 ? '' : 's'} per configuration no difference between two can be called beyond noise (Mann-Whitney U needs ${MIN_RUNS_FOR_VERDICT} each: --repeat ${MIN_RUNS_FOR_VERDICT})`);
  }
  out.push('', renderTable(table), '', `report: ${report}`, `results: ${dir}`);
  if (table.some((t) => !t.settled)) out.push('warning: some runs did not settle (pending proposals or replicas behind at the end)');
  process.stdout.write(out.join('\n') + '\n');
}

/** --json: one object per configuration (the object itself for a single configuration). */
function jsonSummary(configs: readonly ConfigRuns[], table: readonly TableRow[], m: ReturnType<typeof machine>, commitId: string): unknown {
  const out = configs.map((c, i) => {
    const t = table[i];
    return {
      schema_version: RESULTS_SCHEMA_VERSION, label: c.label, config: c.runs[0]?.config ?? {}, samples: c.runs.length, settled: t?.settled ?? false,
      metrics: Object.fromEntries(BENCH_METRICS.map((k) => [k, c.runs.length === 1 ? (c.runs[0]?.metrics[k] ?? null) : (t?.estimates[k].median ?? null)])),
      spread: t === undefined ? {} : Object.fromEntries(BENCH_METRICS.map((k) => [k, spread(t.estimates[k])])),
      machine: m, commit: commitId,
    };
  });
  return out.length === 1 ? out[0] : out;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`synod bench: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
