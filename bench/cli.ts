/**
 * `npm run bench -- [options]`: measure the limit, run every (swept) run,
 * write results/<timestamp>/ (args.json, results.csv, runs/*.json,
 * report.html), print a table, and with --json a JSON summary as the last line.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { measureLimit, type Limit } from './limit.js';
import { commit, machine } from './machine.js';
import { OptionError, helpText, parseArgs, type ParsedArgs } from './options.js';
import { renderReport } from './report.js';
import { runOnce } from './run.js';
import { flatten, summarize, type Summary } from './summary.js';
import { toCsv } from '../src/report/results.js';
import { renderTable } from './table.js';

const LIMIT_MEASURE_MS = 300;

function progress(line: string): void {
  // Only on a terminal, and only between measured windows, so it never disturbs one.
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
}

function outDir(root: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let dir = join(root, stamp);
  for (let i = 2; existsSync(dir); i++) dir = join(root, `${stamp}-${i}`);
  mkdirSync(join(dir, 'runs'), { recursive: true });
  return dir;
}

function decisionsPath(args: ParsedArgs, i: number): string | null {
  const f = args.global.decisions;
  if (f === null) return null;
  return args.runs.length > 1 ? `${f}.${i + 1}` : f;
}

async function main(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
    const d = args.global.decisions;
    if (d !== null && !(existsSync(dirname(resolve(d))) && statSync(dirname(resolve(d))).isDirectory())) {
      throw new OptionError(`--decisions: directory ${dirname(resolve(d))} does not exist`);
    }
  } catch (e) {
    if (e instanceof OptionError) {
      process.stderr.write(`synod bench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (args.global.help) {
    process.stdout.write(helpText() + '\n');
    return 0;
  }
  const m = machine();
  const commitId = commit();
  const dir = outDir(args.global.out);
  const command = `npm run bench -- ${argv.join(' ')}`.trim();
  writeFileSync(join(dir, 'args.json'), JSON.stringify({ argv, command, global: args.global, runs: args.runs, machine: m, commit: commitId }, null, 2));

  // The limit, once per replica count, at every window the runs use.
  const limits = new Map<number, Limit>();
  for (const replicas of new Set(args.runs.map((r) => r.replicas))) {
    progress(`measuring the limit (${replicas} workers)...`);
    const windows = [...new Set(args.runs.filter((r) => r.replicas === replicas).map((r) => r.policy.params.window))];
    limits.set(replicas, await measureLimit({ replicas, windows, duration_ms: LIMIT_MEASURE_MS }));
  }

  const scratch = mkdtempSync(join(tmpdir(), 'synod-bench-'));
  const summaries: Summary[] = [];
  try {
    for (let i = 0; i < args.runs.length; i++) {
      const opts = args.runs[i];
      const label = args.labels[i] ?? '';
      if (opts === undefined) continue;
      progress(`run ${i + 1}/${args.runs.length} ${label} (${opts.runtime})...`);
      const runScratch = mkdtempSync(join(scratch, 'run-'));
      const raw = await runOnce(opts, opts.runtime, { scratch: runScratch, decisions: decisionsPath(args, i) });
      let inline = null;
      if (args.global.compare_inline && opts.runtime === 'threads') {
        progress(`run ${i + 1}/${args.runs.length} ${label} (inline, for comparison)...`);
        inline = await runOnce(opts, 'inline', { scratch: mkdtempSync(join(scratch, 'run-')), decisions: null });
      }
      const limit = limits.get(opts.replicas);
      if (limit === undefined) throw new Error('no limit measured for this replica count');
      const s = summarize(raw, label, limit, m, commitId, inline);
      summaries.push(s);
      const name = `${String(i + 1).padStart(3, '0')}${label === '' ? '' : '-' + label.replace(/[^a-zA-Z0-9=.-]+/g, '_')}`;
      writeFileSync(join(dir, 'runs', `${name}.json`), JSON.stringify({ summary: s, options: opts, limit, final: raw.final, per_replica: raw.metrics.map((x) => ({ ...x, latency_us: undefined, ballots: undefined })) }, null, 2));
      rmSync(runScratch, { recursive: true, force: true });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  progress('');
  writeFileSync(join(dir, 'results.csv'), toCsv(summaries.map((s) => flatten(s))));
  const report = join(dir, 'report.html');
  writeFileSync(report, renderReport(summaries, [...limits.values()], m, commitId, command, new Date().toISOString()));

  const l = [...limits.values()][0];
  const out: string[] = [];
  out.push(`synod bench on ${m.cpu}, ${m.cores} cores, Node ${m.node}, commit ${commitId}`);
  if (l !== undefined) {
    out.push(`limit: rtt p50 ${l.rtt_us.toFixed(1)} us, one-way ${Math.round(l.msgs_per_s)} msgs/s, batched ${Math.round(l.batched_msgs_per_s)} msgs/s, bare phase-2 loop ${Object.entries(l.bare_loop_decisions_per_s).map(([w, v]) => `w${w} ${Math.round(v)}/s`).join(', ')}`);
  }
  out.push('', renderTable(summaries), '', `report: ${report}`, `results: ${dir}`);
  if (summaries.some((s) => !s.settled)) out.push('warning: some runs did not settle (pending proposals or replicas behind at the end)');
  process.stdout.write(out.join('\n') + '\n');
  if (args.global.json) process.stdout.write(JSON.stringify(summaries.length === 1 && args.runs.length === 1 ? summaries[0] : summaries) + '\n');
  return 0;
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
