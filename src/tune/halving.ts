/**
 * Successive halving with common random numbers (Jamieson and Talwalkar,
 * "Non-stochastic Best Arm Identification and Hyperparameter Optimization",
 * 2016; Karnin et al., "Almost Optimal Exploration in Multi-Armed Bandits",
 * 2013): every arm of a round runs on the same seeds, the best 1/eta go on,
 * and each round multiplies the seeds by eta, so the budget per round stays
 * about level and the last few arms are told apart on many seeds. Seeds are
 * cumulative (a survivor keeps its earlier runs) and shared (seed s means the
 * same randomness for every arm), so arms compare seed by seed.
 *
 * A run that does not finish counts as a failure: an arm with fewer failures
 * ranks first, then by the mean objective over its finished runs.
 */

export interface HalvingPlan {
  eta: number;
  /** Per round: arms that run, and the seeds each has run by the round's end (cumulative). */
  rounds: Array<{ arms: number; seeds: number }>;
  /** Runs the plan costs. */
  cost: number;
}

/** Seeds every arm needs in the first round: one fewer and no interval of a mean can be drawn. */
export const FIRST_ROUND_SEEDS_MIN = 2;
/** The rounds stop when this few arms are left: the winner and its runner-up (and one more). */
export const FINAL_ARMS = 3;

function roundsFor(arms: number, eta: number, seeds0: number): Array<{ arms: number; seeds: number }> {
  const rounds: Array<{ arms: number; seeds: number }> = [];
  let n = arms;
  let s = seeds0;
  for (let k = 0; k < 64; k++) {
    rounds.push({ arms: n, seeds: s });
    if (n <= FINAL_ARMS) break;
    n = Math.max(FINAL_ARMS, Math.ceil(n / eta));
    s *= eta;
  }
  return rounds;
}

function costOf(rounds: ReadonlyArray<{ arms: number; seeds: number }>): number {
  let cost = 0;
  let before = 0;
  for (const r of rounds) {
    cost += r.arms * (r.seeds - before);
    before = r.seeds;
  }
  return cost;
}

/**
 * The plan that spends at most `budget` runs with as many first-round seeds
 * as fit; throws a one-line RangeError when not even FIRST_ROUND_SEEDS_MIN do.
 */
export function planHalving(arms: number, budget: number, eta = 3): HalvingPlan {
  if (!Number.isInteger(arms) || arms < 2) throw new RangeError(`successive halving needs at least 2 candidates, got ${arms}`);
  if (!(eta >= 2)) throw new RangeError(`eta must be at least 2, got ${eta}`);
  const least = costOf(roundsFor(arms, eta, FIRST_ROUND_SEEDS_MIN));
  if (budget < least) {
    throw new RangeError(
      `a budget of ${budget} runs cannot separate ${arms} candidates: successive halving needs at least ${least} ` +
        `(${FIRST_ROUND_SEEDS_MIN} seeds each in the first round, ${eta}x more each round after); raise --budget or tune fewer policies`,
    );
  }
  let s0 = FIRST_ROUND_SEEDS_MIN;
  while (costOf(roundsFor(arms, eta, s0 + 1)) <= budget) s0++;
  const rounds = roundsFor(arms, eta, s0);
  return { eta, rounds, cost: costOf(rounds) };
}

/** Per-seed objective values of an arm, by seed index (NaN: the run did not finish). */
export type SeedValues = number[];

/** Runs `arms` on seed indices [from, to); returns each arm's values for those seeds, in order. */
export type Evaluate<A> = (arms: readonly A[], from: number, to: number) => Promise<SeedValues[]>;

export interface ArmResult<A> {
  arm: A;
  /** Values on seed indices 0 .. values.length - 1. */
  values: SeedValues;
  /** The last round (0-based) it ran in. */
  round: number;
}

export interface HalvingResult<A> {
  plan: HalvingPlan;
  /** Every arm, with the seeds it ran. */
  arms: Array<ArmResult<A>>;
  /** The final round's arms, best first. */
  ranking: Array<ArmResult<A>>;
}

/** Mean over finished runs and the count of failures: what arms are ranked by. */
export function score(values: readonly number[], upTo = values.length): { failures: number; mean: number } {
  let failures = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < upTo; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) {
      sum += v;
      n++;
    } else failures++;
  }
  return { failures, mean: n === 0 ? Number.NaN : sum / n };
}

/** Sorts best first: fewer failures, then the better mean (`higherIsBetter` for throughput). */
export function rank<A>(arms: ReadonlyArray<ArmResult<A>>, upTo: number, higherIsBetter: boolean): Array<ArmResult<A>> {
  const key = arms.map((a) => ({ a, s: score(a.values, upTo) }));
  key.sort((x, y) => {
    if (x.s.failures !== y.s.failures) return x.s.failures - y.s.failures;
    const mx = Number.isNaN(x.s.mean) ? Number.POSITIVE_INFINITY : higherIsBetter ? -x.s.mean : x.s.mean;
    const my = Number.isNaN(y.s.mean) ? Number.POSITIVE_INFINITY : higherIsBetter ? -y.s.mean : y.s.mean;
    return mx - my;
  });
  return key.map((k) => k.a);
}

export async function successiveHalving<A>(
  arms: readonly A[], plan: HalvingPlan, evaluate: Evaluate<A>, higherIsBetter: boolean,
  onRound: (round: number, ranked: ReadonlyArray<ArmResult<A>>, seeds: number) => void = () => {},
): Promise<HalvingResult<A>> {
  const all: Array<ArmResult<A>> = arms.map((arm) => ({ arm, values: [], round: 0 }));
  let alive = all;
  let before = 0;
  let ranked = alive;
  for (let k = 0; k < plan.rounds.length; k++) {
    const { seeds } = plan.rounds[k] as { arms: number; seeds: number };
    const fresh = await evaluate(alive.map((r) => r.arm), before, seeds);
    alive.forEach((r, i) => {
      r.values.push(...(fresh[i] ?? []));
      r.round = k;
    });
    before = seeds;
    ranked = rank(alive, seeds, higherIsBetter);
    onRound(k, ranked, seeds);
    const next = plan.rounds[k + 1];
    if (next !== undefined) alive = ranked.slice(0, next.arms);
  }
  return { plan, arms: all, ranking: ranked };
}
