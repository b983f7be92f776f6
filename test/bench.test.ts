/**
 * The benchmark harness end to end, on short runs: --repeat 3 interleaved
 * across a sweep (ABAB), the CI columns, a column for every option, one
 * progress line per run on a non-terminal stderr, runs.csv / runs/*.json per
 * run, a report, agreement in the decisions files; one-line errors for bad
 * options, including a flag the chosen policy ignores.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_OPTIONS } from '../bench/options.js';
import { BENCH_METRICS } from '../bench/summary.js';
import { parseCsv, RESULTS_SCHEMA_VERSION } from '../src/report/results.js';

const scratch = mkdtempSync(join(tmpdir(), 'synod-bench-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bench(args: string[], timeout_ms = 90_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], { encoding: 'utf8', timeout: timeout_ms });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every column the options table declares (not a copy of the list). */
const OPTION_COLUMNS = Object.values(RUN_OPTIONS).flatMap((spec): string[] => (typeof spec.column === 'string' ? [spec.column] : [...spec.column]));
const ESTIMATE_SUFFIXES = ['', '_mean', '_ci95_lo', '_ci95_hi', '_min', '_max'];

describe('npm run bench', () => {
  it('--repeat 3 over a sweep: interleaved runs, CI columns, every option a column, progress per run', () => {
    const out = join(scratch, 'results');
    const decisions = join(scratch, 'decisions.jsonl');
    const r = bench([
      '--replicas', '3', '--duration', '300ms', '--warmup', '100ms', '--sweep', 'policy=leader,exponential', '--repeat', '3',
      '--proposers', '2', '--outstanding', '2', '--out', out, '--decisions', decisions, '--json',
    ]);
    expect(r.code).toBe(0);
    // stderr is a pipe here, not a terminal: still one line per run, with the time left.
    const progress = r.stderr.trim().split('\n');
    expect(progress[0]).toBe('synod bench: measuring the limit (3 workers)...');
    expect(progress.slice(1)).toHaveLength(6);
    progress.slice(1).forEach((line, i) => expect(line).toMatch(new RegExp(`^\\[${i + 1}/6\\] policy=\\w+ \\(repeat \\d/3\\): \\d+ decisions/s, p99 \\d+ us \\| elapsed \\S+, (about \\S+ left|done)$`)));

    const lines = r.stdout.trim().split('\n');
    const summaries = JSON.parse(lines[lines.length - 1] ?? '') as Array<{ schema_version: number; label: string; samples: number; settled: boolean; metrics: Record<string, number | null> }>;
    expect(summaries.map((s) => [s.label, s.samples, s.schema_version])).toEqual([['policy=leader', 3, RESULTS_SCHEMA_VERSION], ['policy=exponential', 3, RESULTS_SCHEMA_VERSION]]);
    for (const s of summaries) {
      expect(Object.keys(s.metrics)).toEqual([...BENCH_METRICS]);
      expect(s.metrics.decisions as number).toBeGreaterThan(0);
      expect(s.settled).toBe(true);
      expect(s.metrics.limit_bare_two_phase_us as number).toBeGreaterThan(0);
      expect(s.metrics.limit_post_to_idle_us as number).toBeGreaterThan(0);
      expect(s.metrics.limit_post_to_busy_us as number).toBeGreaterThan(0);
    }
    // One limit for the invocation; the two-phase floor is what a per-slot policy's latency is read against.
    const [leader, exponential] = summaries as [(typeof summaries)[number], (typeof summaries)[number]];
    expect(leader.metrics.limit_bare_two_phase_us).toBe(exponential.metrics.limit_bare_two_phase_us);
    expect(leader.metrics.latency_p50_vs_bare_two_phase).toBeNull();
    expect(exponential.metrics.latency_p50_vs_bare_two_phase as number).toBeGreaterThan(0);

    const [dir] = readdirSync(out);
    const root = join(out, dir ?? '');
    // The runs in the order they ran: A B A B A B.
    const runs = parseCsv(readFileSync(join(root, 'runs.csv'), 'utf8'));
    expect(runs.map((x) => `${x.policy}#${x.repeat}`)).toEqual(['leader#0', 'exponential#0', 'leader#1', 'exponential#1', 'leader#2', 'exponential#2']);
    expect(readdirSync(join(root, 'runs')).sort()).toEqual([
      '001-policy=leader-r1.json', '002-policy=exponential-r1.json', '003-policy=leader-r2.json',
      '004-policy=exponential-r2.json', '005-policy=leader-r3.json', '006-policy=exponential-r3.json',
    ]);
    type WorkerFigures = { replica: number; turns: number; envelopes_out: number; messages_out: number; gc_ms: number; gc_minor_ms: number; gc_minor_count: number; gc_major_ms: number };
    const run1 = JSON.parse(readFileSync(join(root, 'runs', '001-policy=leader-r1.json'), 'utf8')) as { latency_us_percentiles: Array<[number, number]>; workers: WorkerFigures[] };
    expect(run1.latency_us_percentiles.length).toBeGreaterThan(3);
    expect(run1.latency_us_percentiles.at(-1)?.[0]).toBe(100);
    // Per replica: turns, envelopes (each of at least one message) and GC time, minor and major adding up.
    expect(run1.workers.map((w) => w.replica)).toEqual([0, 1, 2]);
    for (const w of run1.workers) {
      expect(w.turns).toBeGreaterThan(0);
      expect(w.envelopes_out).toBeGreaterThan(0);
      expect(w.messages_out).toBeGreaterThanOrEqual(w.envelopes_out);
      expect(Number.isInteger(w.gc_minor_count)).toBe(true);
      expect(Math.abs(w.gc_ms - (w.gc_minor_ms + w.gc_major_ms))).toBeLessThanOrEqual(0.002);
    }

    const results = parseCsv(readFileSync(join(root, 'results.csv'), 'utf8'));
    expect(results).toHaveLength(2);
    const header = Object.keys(results[0] ?? {});
    for (const c of OPTION_COLUMNS) expect(header, c).toContain(c);
    for (const m of BENCH_METRICS) for (const suffix of ESTIMATE_SUFFIXES) expect(header, m + suffix).toContain(m + suffix);
    for (const row of results) {
      expect(row.samples).toBe('3');
      const [lo, hi, median] = [Number(row.decisions_per_s_ci95_lo), Number(row.decisions_per_s_ci95_hi), Number(row.decisions_per_s)];
      expect(row.decisions_per_s_ci95_lo).not.toBe('');
      expect(lo).toBeLessThanOrEqual(hi);
      expect(median).toBeGreaterThanOrEqual(Number(row.decisions_per_s_min));
      expect(median).toBeLessThanOrEqual(Number(row.decisions_per_s_max));
    }
    // Options the policy ignores stay empty: leader reads no delay_ms, exponential no heartbeat_ms.
    expect(results.map((x) => [x.policy, x.delay_ms, x.heartbeat_ms, x.base_ms])).toEqual([['leader', '', '10', '1'], ['exponential', '', '', '1']]);
    // Short runs: no heap growth figure.
    expect(results.map((x) => x.heap_growth_pct_per_min_max)).toEqual(['', '']);
    const args = JSON.parse(readFileSync(join(root, 'args.json'), 'utf8')) as Record<string, unknown>;
    expect(args).toMatchObject({ schema_version: RESULTS_SCHEMA_VERSION, tool: 'bench', center: 'median', sample_column: 'repeat', repeat: 3, config_columns: OPTION_COLUMNS });

    const html = readFileSync(join(root, 'report.html'), 'utf8');
    expect(html).toContain('<figure class="plot" data-plot="metric-decisions_per_s"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(existsSync(join(root, 'report.html'))).toBe(true);

    // One decisions file per run: every replica decided the same value in every slot.
    for (let i = 1; i <= 6; i++) {
      const bySlot = new Map<number, Map<number, string>>();
      for (const line of readFileSync(`${decisions}.${i}`, 'utf8').trim().split('\n')) {
        const d = JSON.parse(line) as { replica: number; slot: number; value: string };
        const m = bySlot.get(d.slot) ?? new Map<number, string>();
        expect(m.has(d.replica)).toBe(false);
        m.set(d.replica, d.value);
        bySlot.set(d.slot, m);
      }
      expect(bySlot.size).toBeGreaterThan(0);
      for (const [slot, m] of bySlot) {
        expect(m.size, `slot ${slot} decided on every replica`).toBe(3);
        expect(new Set(m.values()).size, `slot ${slot} has one value`).toBe(1);
      }
    }
  }, 120_000);

  it('-h prints the options and exits 0', () => {
    const r = bench(['-h'], 20_000);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const k of Object.keys(RUN_OPTIONS)) expect(r.stdout).toContain(`--${k} `);
    expect(r.stdout).toContain('--repeat N');
    const c = bench(['compare', '-h'], 20_000);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^usage: npm run bench -- compare A B/);
  });

  it.each([
    [['--replicas', '0'], /--replicas must be an integer/],
    [['--policy', 'nope'], /--policy must be one of/],
    [['--duration', 'soon'], /--duration must be a duration/],
    [['--proposers', '4', '--replicas', '3'], /--proposers \(4\) must be at most --replicas \(3\)/],
    [['--sweep', 'bogus=1,2'], /--sweep must be key=a,b,c/],
    [['--frobnicate'], /unknown option --frobnicate/],
    [['--policy', 'lease', '--drift-ms', '200'], /drift_ms/],
    [['--conflict', '101'], /--conflict must be at most 100, got '101'/],
    [['--duration', '10'], /--duration must be a duration like 200ms, 5s or 2m, got '10' \(a bare number is refused: say the unit\)/],
    [['--sweep', 'base-ms=1,2', '--policy', 'fixed'], /^synod bench: --base-ms: fixed ignores it \(fixed reads --delay-ms, --window, --after-lost-slot\); sweep a policy and its parameters in separate runs\n$/],
    [['--sweep', 'policy=fixed,exponential', '--jitter', 'none'], /--jitter: fixed ignores it/],
    [['--rate', '500'], /--rate: only --workload open has a rate/],
    [['--fsync', 'always'], /--fsync: only --storage file syncs/],
    [['--repeat', '0'], /--repeat must be an integer in 1..100/],
    [['--sweep', 'proposers=1,2,3,4,5,6,7,8,9,10,11', '--repeat', '100'], /--sweep and --repeat give 1100 runs \(at most 1000\)/],
    [['--reads', '20%', '--read-consistency', 'lease', '--policy', 'leader'], /^synod bench: --read-consistency lease needs --policy lease, not leader\n$/],
    [['--read-consistency', 'stale'], /^synod bench: --read-consistency: only --reads above 0 reads\n$/],
    [['--reads', '20%', '--workload', 'open'], /^synod bench: --reads: only --workload closed mixes reads in\n$/],
    [['--reads', '10%', '--read-consistency', 'eventual'], /--read-consistency must be one of linearizable\|lease\|stale, got 'eventual'/],
    [['--young-gen-mb', '4'], /^synod bench: --young-gen-mb must be 0 \(V8's default\) or 8\.\.4096, got 4\n$/],
    [['--young-gen-mb', '64', '--runtime', 'inline'], /^synod bench: --young-gen-mb: inline replicas run on this thread\n$/],
  ])('rejects %j with a one-line reason', (args, reason) => {
    const r = bench(args, 20_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(reason);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
