/**
 * The simulator's one seeded random source (pure-rand's xoroshiro128+), and
 * forks of it for each replica, so that a seed replays a run event for event.
 */
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

export class SeededRandom {
  private readonly rng: RandomGenerator;

  constructor(readonly seed: number) {
    this.rng = xoroshiro128plus(seed | 0);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return (this.rng.unsafeNext() >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return unsafeUniformIntDistribution(lo, hi, this.rng);
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** An independent stream derived from this one (a replica's own source). */
  fork(): SeededRandom {
    return new SeededRandom(this.int(-0x80000000, 0x7fffffff));
  }

  /** A bound `() => number` for code that takes an injected source. */
  asFunction(): () => number {
    return () => this.next();
  }
}
