/**
 * Simulator sweeps: the results folder (args.json, results.csv with every
 * parameter a column and each metric's mean and 95% half-width, per-seed
 * rows, report.html), common random numbers across points and across worker
 * threads, per-policy grids, and paired comparisons.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareMain } from '../bench/compare-cli.js';
import { RESULTS_SCHEMA_VERSION, parseCsv, readResults, toCsv } from '../src/report/results.js';
import { runCli } from '../src/sim/cli-main.js';
import { parseRunSpec, specColumns } from '../src/sim/flags.js';
import { METRICS, SIM_SCHEMA_VERSION } from '../src/sim/metrics.js';
import { comparisonPairs, expandPoints, parseSweep, pointLabel } from '../src/sim/sweep.js';
import { sweepPlanFromArgv } from '../src/sim/cli-main.js';
import { markers, replaceGenerated, studyFigures } from '../src/sim/study.js';

async function sim(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

function onlyDir(root: string): string {
  const dirs = readdirSync(root);
  expect(dirs).toHaveLength(1);
  return join(root, dirs[0] as string);
}

const BASE = ['--replicas', '3', '--workload', 'burst', '--proposals', '2', '--faults', 'calm', '--latency', 'normal:5ms,1ms', '--seeds', '3', '--seed', '11'];

describe('sim sweeps', () => {
  it("writes src/report's results folder: args.json, results.csv with every parameter and each metric's estimate columns, runs.csv per seed, report.html", async () => {
    const root = mkdtempSync(join(tmpdir(), 'sim-sweep-'));
    const r = await sim(...BASE, '--sweep', 'jitter=none,full', '--sweep', 'proposers=2,3', '--threads', '2', '--out', root);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const dir = onlyDir(root);
    expect(readdirSync(dir).sort()).toEqual(['args.json', 'report.html', 'results.csv', 'runs.csv']);
    const params = Object.keys(specColumns(parseRunSpec(new Map([['replicas', '3']]), [], undefined, false)));
    const args = JSON.parse(readFileSync(join(dir, 'args.json'), 'utf8')) as Record<string, unknown>;
    expect(args).toMatchObject({
      schema_version: RESULTS_SCHEMA_VERSION, sim_schema_version: SIM_SCHEMA_VERSION, tool: 'sim', seeds: 3, seed_first: 11, threads: 2,
      config_columns: params, metric_columns: [...METRICS], center: 'mean', sample_column: 'seed', swept_columns: ['jitter', 'proposers'],
    });
    expect(args.points).toEqual(['jitter=none proposers=2', 'jitter=none proposers=3', 'jitter=full proposers=2', 'jitter=full proposers=3']);
    // No parameter column shares a metric's name (a metric's cells would overwrite it).
    expect(params.filter((c) => (METRICS as readonly string[]).includes(c))).toEqual([]);

    const text = readFileSync(join(dir, 'results.csv'), 'utf8');
    const header = text.split('\n')[0]?.split(',') ?? [];
    const metricCols = METRICS.flatMap((m) => [m, `${m}_mean`, `${m}_ci95_lo`, `${m}_ci95_hi`, `${m}_min`, `${m}_max`]);
    expect(header).toEqual([...params, 'samples', 'violations', 'liveness_failures', ...metricCols, 'events']);
    const set = readResults(dir);
    const rows = [...set.rows].sort((a, b) => `${a.jitter}${a.proposers}`.localeCompare(`${b.jitter}${b.proposers}`));
    expect(rows.map((row) => [row.jitter, row.proposers, row.policy, row.proposals_per_proposer, row.samples])).toEqual([
      ['full', '2', 'exponential', '2', '3'], ['full', '3', 'exponential', '2', '3'], ['none', '2', 'exponential', '2', '3'], ['none', '3', 'exponential', '2', '3'],
    ]);
    // Every proposal of every seed decided: 2 per proposer, so the mean, its interval and the range are all one number.
    expect(rows.map((row) => [row.decided, row.decided_ci95_lo, row.decided_ci95_hi, row.decided_min, row.decided_max])).toEqual([
      ['4', '4', '4', '4', '4'], ['6', '6', '6', '6', '6'], ['4', '4', '4', '4', '4'], ['6', '6', '6', '6', '6'],
    ]);
    for (const row of rows) expect(Number(row.attempts_per_proposal_ci95_lo)).toBeLessThanOrEqual(Number(row.attempts_per_proposal));

    expect(set.samples).toHaveLength(12);
    expect(new Set(set.samples?.map((s) => s.seed))).toEqual(new Set(['11', '12', '13']));
    // A point's mean in results.csv is the mean of its seeds in runs.csv.
    const none2 = set.samples?.filter((s) => s.jitter === 'none' && s.proposers === '2') ?? [];
    const mean = none2.reduce((a, s) => a + Number(s.makespan_ms), 0) / none2.length;
    expect(Number(rows[2]?.makespan_ms_mean)).toBeCloseTo(mean, 2);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('synod simulator sweep');
    expect(html).toContain('data-plot="metric-');
    expect(html).toContain('Paired differences');
    // Adjacent points that differ in one key are compared over the shared seeds.
    expect(r.out).toContain('jitter=none proposers=2 -> jitter=none proposers=3: attempts_per_proposal');
  });

  it('threads change nothing: a point gives the same figures on one thread and on workers, and as a plain run', async () => {
    const one = mkdtempSync(join(tmpdir(), 'sim-sweep-1-'));
    const two = mkdtempSync(join(tmpdir(), 'sim-sweep-2-'));
    await sim(...BASE, '--proposers', '3', '--sweep', 'jitter=none,decorrelated', '--threads', '1', '--out', one);
    await sim(...BASE, '--proposers', '3', '--sweep', 'jitter=none,decorrelated', '--threads', '2', '--out', two);
    const seedsOf = (root: string) => parseCsv(readFileSync(join(onlyDir(root), 'runs.csv'), 'utf8')).sort((a, b) => `${a.jitter}/${a.seed}`.localeCompare(`${b.jitter}/${b.seed}`));
    expect(seedsOf(two)).toEqual(seedsOf(one));
    const plain = await sim(...BASE, '--proposers', '3', '--jitter', 'decorrelated', '--json');
    const summary = JSON.parse(plain.out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
    const row = parseCsv(readFileSync(join(onlyDir(one), 'results.csv'), 'utf8')).find((x) => x.jitter === 'decorrelated');
    expect(Number(row?.makespan_ms_mean)).toBe(summary.makespan_ms);
    expect(Number(row?.attempts_per_proposal_mean)).toBe(summary.attempts_per_proposal);
  });

  it('per-policy grids: each policy sweeps only its own parameters, and columns a policy does not read stay empty', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sim-sweep-grid-'));
    const r = await sim(...BASE, '--proposers', '2', '--sweep', 'policy=fixed,exponential', '--sweep', 'fixed:delay-ms=5,20', '--sweep', 'exponential:jitter=none,full', '--threads', '1', '--out', root);
    expect(r.code).toBe(0);
    const rows = parseCsv(readFileSync(join(onlyDir(root), 'results.csv'), 'utf8'));
    expect(rows.map((x) => [x.policy, x.delay_ms, x.jitter, x.base_ms])).toEqual([
      ['fixed', '5', '', ''], ['fixed', '20', '', ''], ['exponential', '', 'none', '1'], ['exponential', '', 'full', '1'],
    ]);
  });

  it('--baseline compares each point with the one that differs only in that key', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sim-sweep-base-'));
    const r = await sim(...BASE, '--sweep', 'proposers=2,3', '--sweep', 'jitter=none,full,equal', '--baseline', 'jitter=none', '--compare', 'makespan_ms', '--threads', '1', '--out', root);
    const lines = r.out.split('\n').filter((l) => l.includes(' -> '));
    expect(lines.map((l) => l.split(':')[0]?.trim())).toEqual([
      'proposers=2 jitter=none -> proposers=2 jitter=full', 'proposers=2 jitter=none -> proposers=2 jitter=equal',
      'proposers=3 jitter=none -> proposers=3 jitter=full', 'proposers=3 jitter=none -> proposers=3 jitter=equal',
    ]);
    for (const l of lines) expect(l).toMatch(/makespan_ms [+-][\d.]+ ±[\d.]+ over 3 seeds \((differs|no difference shown)\)$/);
    expect(existsSync(join(onlyDir(root), 'report.html'))).toBe(true);
  });
});

describe('sweep grids', () => {
  it('cross product in sweep order (the last fastest), semicolons for values with commas', () => {
    const points = expandPoints([parseSweep('latency=normal:10ms,2ms;const:5ms'), parseSweep('proposers=2,3')], 'exponential');
    expect(points.map((p) => [...p.values()].join(' '))).toEqual(['normal:10ms,2ms 2', 'normal:10ms,2ms 3', 'const:5ms 2', 'const:5ms 3']);
  });

  it('keys joined by / move together, one value per key', () => {
    const points = expandPoints([parseSweep('replicas/proposers=5/2,10/10'), parseSweep('jitter=none,full')], 'exponential');
    expect(points.map((p) => pointLabel(p))).toEqual([
      'replicas=5 proposers=2 jitter=none', 'replicas=5 proposers=2 jitter=full', 'replicas=10 proposers=10 jitter=none', 'replicas=10 proposers=10 jitter=full',
    ]);
    expect(() => parseSweep('replicas/proposers=5/2,10')).toThrow("'10' does not give one value per key (replicas/proposers)");
    expect(() => parseSweep('replicas/replicas=5/5')).toThrow('a key twice');
  });

  it('labels leave out keys swept over one value', () => {
    const sweeps = [parseSweep('policy=fixed,exponential'), parseSweep('exponential:base-ms=5'), parseSweep('exponential:jitter=none,full')];
    expect(expandPoints(sweeps, 'exponential').map((p) => pointLabel(p, sweeps))).toEqual(['policy=fixed', 'policy=exponential jitter=none', 'policy=exponential jitter=full']);
  });

  it('adjacent pairs differ in exactly one key', () => {
    const points = expandPoints([parseSweep('proposers=1,2'), parseSweep('jitter=none,full')], 'exponential');
    expect(comparisonPairs(points, null)).toEqual([[0, 1], [2, 3]]);
    expect(comparisonPairs(points, { key: 'proposers', value: '1' })).toEqual([[0, 2], [1, 3]]);
  });
});

describe('the study', () => {
  it('every figure is a valid sweep command, refused nowhere, and its x axis is one of its sweeps', () => {
    for (const f of studyFigures()) {
      const plan = sweepPlanFromArgv([...f.argv, '--seeds', '20']);
      expect(plan.points.length).toBeGreaterThan(1);
      expect(plan.sweeps.map((s) => s.key)).toContain(f.x);
    }
  });

  it('replaces only the generated part of the doc between a figure\'s markers', () => {
    const { begin, end } = markers('burst');
    const doc = `# Title\n\nprose\n\n${begin}\nold\n${end}\n\nmore prose\n`;
    expect(replaceGenerated(doc, 'burst', 'new')).toBe(`# Title\n\nprose\n\n${begin}\n\nnew\n\n${end}\n\nmore prose\n`);
    expect(() => replaceGenerated('# no markers', 'burst', 'x')).toThrow("the doc lacks the markers of figure 'burst'");
  });
});

describe('npm run bench -- compare on simulator sweeps', () => {
  /** `bench compare` in this process (the same function `npm run bench -- compare` calls). */
  function compareDirs(...args: string[]): { code: number; out: string; err: string } {
    let out = '';
    let err = '';
    const code = compareMain(args, (s) => void (out += s), (s) => void (err += s));
    return { code, out, err };
  }

  /** A copy of `dir` with `metric` halved at every point and seed (results.csv and runs.csv alike). */
  function halved(dir: string, metric: string): string {
    const copy = mkdtempSync(join(tmpdir(), 'sim-sweep-halved-'));
    cpSync(dir, copy, { recursive: true });
    const estimateCols = [metric, `${metric}_mean`, `${metric}_ci95_lo`, `${metric}_ci95_hi`, `${metric}_min`, `${metric}_max`];
    for (const [file, cols] of [['results.csv', estimateCols], ['runs.csv', [metric]]] as const) {
      const rows = parseCsv(readFileSync(join(copy, file), 'utf8'));
      for (const row of rows) for (const c of cols) row[c] = row[c] === '' ? '' : String(Number(row[c]) / 2);
      writeFileSync(join(copy, file), toCsv(rows));
    }
    return copy;
  }

  it('a sweep against itself: every metric within noise (paired over the common seeds), exit 0; a halved goodput fails --fail-above', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sim-sweep-compare-'));
    await sim(...BASE, '--seeds', '6', '--sweep', 'jitter=none,full', '--sweep', 'proposers=2,3', '--threads', '1', '--out', root);
    const dir = onlyDir(root);
    const same = compareDirs(dir, dir, '--fail-above', '5%');
    expect(same.err).toBe('');
    expect(same.code).toBe(0);
    expect(same.out).toContain('test: 95% t-interval of the mean paired difference over the seeds both ran (common random numbers)');
    expect(same.out).toMatch(/ 0 better, 0 worse, \d+ within noise, 0 different/);
    expect(same.out).toContain('ok: no metric worse by more than 5%');

    const b = halved(dir, 'goodput_per_s');
    const worse = compareDirs(dir, b, '--fail-above', '10%', '--metrics', 'goodput_per_s,makespan_ms');
    expect(worse.code).toBe(1);
    // Four points, goodput worse at each by 50%, paired over the 6 seeds; makespan untouched.
    expect(worse.out.match(/goodput_per_s .* WORSE by 50\.0% \(paired diff -[\d.]+ \+- [\d.]+ over 6 seeds\)/g)).toHaveLength(4);
    expect(worse.out.match(/makespan_ms .* within noise \(paired diff 0 \+- 0 over 6 seeds\)/g)).toHaveLength(4);
    expect(worse.out).toMatch(/^FAIL: 4 worse by more than 10%: goodput_per_s at /m);
  });
});
