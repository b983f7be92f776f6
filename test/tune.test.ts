/**
 * The backoff tuner: successive halving finds the known optimum of a
 * synthetic objective under common random numbers and noise, spends exactly
 * the runs its plan says, refuses a budget too small to separate anything;
 * the command line refuses bad flags with one line (exit 2) before any work,
 * and a small real search writes its results folder.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/base/random.js';
import { planHalving, successiveHalving } from '../src/tune/halving.js';
import { runTuneCli, runnerUpOf } from '../src/tune/cli-main.js';
import { candidatesOf, defaultsOf } from '../src/tune/space.js';

/**
 * A grid of 12 x 12 = 144 arms; the objective is a tilted bowl with its bottom at (7, 3):
 * (7, 3) 10, then (7, 2) 10.4, (7, 4) 10.6, (6, 3) 10.7, (8, 3) 11.3.
 */
const ARMS = Array.from({ length: 144 }, (_, i) => ({ x: i % 12, y: Math.floor(i / 12) }));
const bowl = (a: { x: number; y: number }): number => 10 + (a.x - 7) ** 2 + 0.5 * (a.y - 3) ** 2 + 0.3 * (a.x - 7) + 0.1 * (a.y - 3);

/** Per seed, a shock every arm shares (common random numbers) and a little noise of the arm's own. */
function synthetic(calls: { runs: number }) {
  return async (arms: ReadonlyArray<{ x: number; y: number }>, from: number, to: number): Promise<number[][]> =>
    arms.map((a) => {
      const out: number[] = [];
      for (let s = from; s < to; s++) {
        calls.runs++;
        const shared = new SeededRandom(1000 + s).next() * 40;
        const own = new SeededRandom(s * 7919 + a.x * 131 + a.y).next() * 0.8;
        out.push(bowl(a) + shared + own);
      }
      return out;
    });
}

describe('successive halving', () => {
  it('finds the known optimum of a noisy synthetic objective, spending exactly the planned runs', async () => {
    const plan = planHalving(ARMS.length, 2000);
    // 3 first-round seeds fit (cost 1,818); 4 would cost 2,424.
    expect(plan.rounds).toEqual([{ arms: 144, seeds: 3 }, { arms: 48, seeds: 9 }, { arms: 16, seeds: 27 }, { arms: 6, seeds: 81 }, { arms: 3, seeds: 243 }]);
    const calls = { runs: 0 };
    const r = await successiveHalving(ARMS, plan, synthetic(calls), false);
    expect(r.ranking.map((a) => a.arm)).toEqual([{ x: 7, y: 3 }, { x: 7, y: 2 }, { x: 7, y: 4 }]);
    expect(calls.runs).toBe(plan.cost);
    expect(plan.cost).toBe(144 * 3 + 48 * 6 + 16 * 18 + 6 * 54 + 3 * 162);
    expect(r.ranking[0]?.values).toHaveLength(243);
  });

  it('maximises when higher is better, and ranks an arm with an unfinished run last', async () => {
    const calls = { runs: 0 };
    const evaluate = synthetic(calls);
    // Maximise minus the bowl, except the optimum, whose first seed never finishes.
    const flipped = async (arms: ReadonlyArray<{ x: number; y: number }>, from: number, to: number) =>
      (await evaluate(arms, from, to)).map((vs, i) => vs.map((v, k) => (arms[i]?.x === 7 && arms[i]?.y === 3 && from + k === 0 ? Number.NaN : -v)));
    const r = await successiveHalving(ARMS, planHalving(ARMS.length, 2000), flipped, true);
    expect(r.ranking.map((a) => a.arm)).toEqual([{ x: 7, y: 2 }, { x: 7, y: 4 }, { x: 6, y: 3 }]);
    expect(r.arms.find((a) => a.arm.x === 7 && a.arm.y === 3)?.round).toBe(0);
  });

  it('refuses a budget too small to give every candidate two seeds in the first round', () => {
    expect(() => planHalving(144, 400)).toThrow(
      'a budget of 400 runs cannot separate 144 candidates: successive halving needs at least 1212 (2 seeds each in the first round, 3x more each round after); raise --budget or tune fewer policies',
    );
    // 144 x 2 + 48 x 4 + 16 x 12 + 6 x 36 + 3 x 108.
    expect(planHalving(144, 1212).cost).toBe(1212);
    expect(() => planHalving(1, 1000)).toThrow('successive halving needs at least 2 candidates, got 1');
  });
});

describe('the runner-up', () => {
  const arm = (delay_ms: number, values: number[], round: number) => ({ arm: { policy: 'fixed' as const, params: { delay_ms } }, values, round });

  it('is the best setting that behaves differently from the winner; settings with the very same runs are its twins', () => {
    const winner = arm(20, [5, 6, 7, 8], 2);
    const twin = arm(30, [5, 6, 7, 8], 2);
    const close = arm(40, [5, 6, 7, 9], 2);
    const far = arm(80, [9, 9, 9, 9], 2);
    const early = arm(1, [1, 1], 1);
    const { runnerUp, twins } = runnerUpOf([winner, far, twin, close, early], winner, false);
    expect(runnerUp?.arm.params.delay_ms).toBe(40);
    expect(twins.map((t) => t.arm.params.delay_ms)).toEqual([30]);
    // With no other setting in the last round, the best of the round before (on its seeds).
    expect(runnerUpOf([winner, twin, early, arm(2, [2, 2], 1)], winner, false).runnerUp?.arm.params.delay_ms).toBe(1);
    expect(runnerUpOf([winner, twin], winner, false).runnerUp).toBeNull();
  });
});

describe('the search space', () => {
  it('is every valid combination of each policy grid, and the defaults are the registry defaults', () => {
    expect(candidatesOf('fixed')).toHaveLength(16);
    expect(candidatesOf('exponential')).toHaveLength(6 * 4 * 3 * 4 * 2);
    // A heartbeat at or above the election timeout is refused by the registry: 20 ms drops 20.
    expect(candidatesOf('leader')).toHaveLength(5 * 4 - 1);
    expect(defaultsOf('exponential')).toEqual({ policy: 'exponential', params: { base_ms: 1, cap_ms: 64, multiplier: 2, jitter: 'full', after_lost_slot: 'now' } });
    expect(() => candidatesOf('immediate')).toThrow('policy immediate has nothing to tune (tunable: fixed, exponential, leader, lease)');
  });
});

async function tune(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runTuneCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('npm run tune', () => {
  const bad: Array<[string[], string]> = [
    [['--budget', '100'], 'tune: a budget of 100 runs cannot separate 592 candidates: successive halving needs at least 5396 (2 seeds each in the first round, 3x more each round after); raise --budget or tune fewer policies'],
    [['--objective', 'speed'], "tune: --objective must be one of p99, mean, attempts, throughput, got 'speed'"],
    [['--policies', 'immediate'], 'tune: --policies: immediate has nothing to tune (tunable: fixed, exponential, leader, lease)'],
    [['--policies', 'fixed,nope'], "tune: --policies: 'nope' is not a policy (tunable: fixed, exponential, leader, lease)"],
    [['--policies', 'fixed,fixed'], 'tune: --policies names a policy twice'],
    [['--jitter', 'full'], 'tune: --jitter is what the tuner searches; name policies with --policies'],
    [['--budget', 'lots'], "tune: --budget must be an integer in 1..10000000, got 'lots'"],
    [['--eta', '1'], "tune: --eta must be an integer in 2..16, got '1'"],
    [['--latency', 'normal:10ms'], "tune: --latency normal takes a mean and a standard deviation (normal:10ms,2ms), got 'normal:10ms'"],
    [['--frobnicate'], "tune: Unknown option '--frobnicate'"],
  ];
  for (const [args, line] of bad) {
    it(`refuses ${args.join(' ')} with one line, exit 2, before any work`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'tune-refused-'));
      const r = await tune(...args, '--out', out);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toBe(`${line}\n`);
      expect(readdirSync(out)).toEqual([]);
    });
  }

  it('a small search: the winner, its paired differences, a fresh-seed re-run, and the results folder', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tune-'));
    const r = await tune('--policies', 'fixed', '--proposers', '3', '--budget', '100', '--fresh-seeds', '6', '--threads', '1', '--objective', 'mean', '--out', root, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('16 candidates (fixed 16); successive halving, eta 3: 16 x 2, 6 x 6, 3 x 18 seeds; 92 runs; seeds 1..18');
    expect(r.out).toMatch(/^best: fixed delay_ms=\d+ after_lost_slot=(now|backoff): mean [\d.]+ ± [\d.]+ ms over 18 seeds$/m);
    expect(r.out).toMatch(/^ {2}vs the defaults \(fixed delay_ms=2 after_lost_slot=now\), paired: /m);
    expect(r.out).toMatch(/^ {2}vs the runner-up \(fixed delay_ms=\d+ after_lost_slot=(now|backoff), the best setting that behaves differently\), paired: [+-][\d.]+ ± [\d.]+ ms over 18 seeds: /m);
    expect(r.out).toMatch(/^fresh seeds 1000001\.\.1000006 \(not tuned on\), winner vs defaults: /m);
    const summary = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(summary).toMatchObject({ objective: 'mean', metric: 'latency_ms_mean', tuned_seeds: 18, fresh_seeds: 6, runs: 92 + 18 + 12 });
    const dir = summary.dir as string;
    expect(readdirSync(dir).sort()).toEqual(['args.json', 'candidates.csv', 'landscape.svg', 'tune.json']);
    expect(readFileSync(join(dir, 'candidates.csv'), 'utf8').split('\n')[0]).toBe('policy,delay_ms,after_lost_slot,last_round,seeds,unfinished,latency_ms_mean,latency_ms_mean_ci95_lo,latency_ms_mean_ci95_hi');
    expect(readFileSync(join(dir, 'landscape.svg'), 'utf8')).toContain('fixed: latency_ms_mean, first 2 seeds');
    expect(existsSync(join(dir, 'tune.json'))).toBe(true);
  }, 60_000);
});
