/**
 * The statistics behind --repeat, compare and the findings: the rank test's
 * exact p-values and the smallest number of runs that can reach p < 0.05, the
 * interleaved run order, the estimate columns, and the layout of a report.
 */
import { describe, expect, it } from 'vitest';
import { interleave } from '../bench/plan.js';
import { BENCH_METRICS } from '../bench/summary.js';
import { renderTable, type TableRow } from '../bench/table.js';
import { estimateCells, readEstimate } from '../src/report/results.js';
import { ALPHA, MIN_RUNS_FOR_VERDICT, estimate, mannWhitney, mannWhitneyMinP, median, welchDifference } from '../src/report/stats.js';

describe('Mann-Whitney U', () => {
  it('cannot reach p < 0.05 with 3 runs against 3, and can with 4 against 4', () => {
    expect(mannWhitneyMinP(3, 3)).toBeCloseTo(2 / 20, 12);
    expect(mannWhitneyMinP(4, 4)).toBeCloseTo(2 / 70, 12);
    expect(MIN_RUNS_FOR_VERDICT).toBe(4);
    expect(mannWhitney([1, 2, 3], [4, 5, 6]).p).toBeCloseTo(0.1, 12);
    expect(mannWhitney([1, 2, 3], [4, 5, 6]).p).toBeGreaterThanOrEqual(ALPHA);
  });

  it('gives the exact two-sided p of complete separation and of interleaved samples', () => {
    const apart = mannWhitney([10, 11, 12, 13], [1, 2, 3, 4]);
    expect(apart.u).toBe(16);
    expect(apart.p).toBeCloseTo(2 / 70, 12);
    // Ranks 1,3,5,7 against 2,4,6,8: U = 6, |U - 8| = 2; 48 of the 70 splits are at least as far from 8.
    expect(mannWhitney([1, 3, 5, 7], [2, 4, 6, 8]).p).toBeCloseTo(48 / 70, 12);
    expect(mannWhitney([5, 5, 5, 5], [5, 5, 5, 5]).p).toBe(1);
  });

  it('falls back to the normal approximation for large samples', () => {
    const a = Array.from({ length: 30 }, (_, i) => i);
    const b = Array.from({ length: 30 }, (_, i) => i + 100);
    expect(mannWhitney(a, b).p).toBeLessThan(1e-9);
    expect(mannWhitney(a, a.map((x) => x + 0.5)).p).toBeGreaterThan(0.5);
  });
});

describe('estimates', () => {
  it('median, min-max and the 95% t-interval of the mean', () => {
    const e = estimate([10, 12, 14]);
    expect(e).toMatchObject({ n: 3, median: 12, mean: 12, min: 10, max: 14 });
    // sd 2, t(2) = 4.303: 12 +- 4.303 * 2 / sqrt(3)
    expect(e.ci95_hi - 12).toBeCloseTo((4.303 * 2) / Math.sqrt(3), 9);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('round-trips through the results.csv cells, and reads a plain mean with a _ci95 half-width', () => {
    const cells = estimateCells('decisions_per_s', estimate([10, 12, 14]), 'median');
    expect(Object.keys(cells)).toEqual(['decisions_per_s', 'decisions_per_s_mean', 'decisions_per_s_ci95_lo', 'decisions_per_s_ci95_hi', 'decisions_per_s_min', 'decisions_per_s_max']);
    const row = Object.fromEntries(Object.entries({ ...cells, samples: 3 }).map(([k, v]) => [k, String(v)]));
    expect(readEstimate(row, 'decisions_per_s')).toMatchObject({ n: 3, center: 12, min: 10, max: 14 });
    expect(readEstimate({ attempts_per_proposal_mean: '2', attempts_per_proposal_ci95: '0.5', samples: '50' }, 'attempts_per_proposal')).toMatchObject({ n: 50, center: 2, lo: 1.5, hi: 2.5 });
  });

  it('Welch: means apart beyond their intervals differ, overlapping ones do not', () => {
    expect(welchDifference({ mean: 10, ci95: 1, n: 20 }, { mean: 20, ci95: 1, n: 20 }).excludesZero).toBe(true);
    expect(welchDifference({ mean: 10, ci95: 5, n: 20 }, { mean: 11, ci95: 5, n: 20 }).excludesZero).toBe(false);
  });
});

describe('run order', () => {
  it('interleaves configurations: A B C A B C, not A A B B C C', () => {
    expect(interleave(3, 2).map((s) => `${'ABC'[s.config]}${s.repeat}`)).toEqual(['A0', 'B0', 'C0', 'A1', 'B1', 'C1']);
  });
});

describe('the summary table', () => {
  const row = (label: string, decisions_per_s: number, commands_per_decision: number): TableRow => {
    const estimates = Object.fromEntries(BENCH_METRICS.map((m) => [m, estimate([])])) as TableRow['estimates'];
    estimates.decisions_per_s = estimate([decisions_per_s]);
    estimates.commands_per_decision = estimate([commands_per_decision]);
    estimates.commands_per_s = estimate([decisions_per_s * commands_per_decision]);
    return { label, runtime: 'threads', estimates, settled: true };
  };
  const header = (table: string): string[] => (table.split('\n')[0] as string).trim().split(/\s{2,}/);

  it('shows commands/s and commands per decision only when some run batched', () => {
    expect(header(renderTable([row('a', 1000, 1)]))).toEqual(['configuration', 'rt', 'decisions/s', 'ok']);
    const batched = renderTable([row('a', 1000, 1), row('b', 1500, 512)]);
    expect(header(batched)).toEqual(['configuration', 'rt', 'commands/s', 'cmds/dec', 'decisions/s', 'ok']);
    expect(batched.split('\n')[3]?.trim().split(/\s+/)).toEqual(['b', 'threads', '768k', '512', '1500', 'yes']);
  });
});
