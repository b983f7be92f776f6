/** One seed of a RunSpec, timed: the unit of work of plain runs and of sweep workers alike. */
import { configFor, clusterOf, type RunSpec } from './flags.js';
import { outcomeOf, type SeedOutcome } from './outcome.js';
import { runSimulation, type SimResult } from './simulator.js';

export function runSeed(spec: RunSpec, seed: number): { outcome: SeedOutcome; result: SimResult } {
  const { replicas, proposers } = clusterOf(spec, seed);
  const t0 = performance.now();
  const result = runSimulation(configFor(spec, seed));
  return { outcome: outcomeOf(result, replicas, proposers, performance.now() - t0), result };
}
