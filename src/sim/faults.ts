/**
 * Fault plans, drawn per seed (swarm testing: each seed gets its own mix, so
 * some runs are calm and some are brutal). All times are virtual ms.
 */
import type { NodeId } from '../paxos/ballot.js';
import type { SeededRandom } from '../base/random.js';

export interface Episode {
  at_ms: number;
  duration_ms: number;
}

export interface PartitionEpisode extends Episode {
  /** Directed links cut for the episode: [from, to]. Symmetric partitions cut both directions. */
  cut: Array<[NodeId, NodeId]>;
}

export interface CrashEpisode extends Episode {
  node: NodeId;
}

export interface FaultPlan {
  /** Probability a message is lost. */
  drop: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Probability a send is followed by a garbage message on the same link (tests the decode boundary). */
  garbage: number;
  /** One-way delay, uniform in [min, max]: overlapping ranges reorder messages. */
  delayMin_ms: number;
  delayMax_ms: number;
  partitions: PartitionEpisode[];
  crashes: CrashEpisode[];
  /** Per node clock rate offset: local = real * (1 + rate). */
  clockRates: number[];
}

export const CALM: Omit<FaultPlan, 'clockRates'> = {
  drop: 0,
  duplicate: 0,
  garbage: 0,
  delayMin_ms: 0.05,
  delayMax_ms: 0.2,
  partitions: [],
  crashes: [],
};

export interface DrawOptions {
  nodes: number;
  faultPhase_ms: number;
  /** Max |clock rate| drawn; leases need it within their drift bound. */
  maxClockRate: number;
}

export function drawFaultPlan(rng: SeededRandom, o: DrawOptions): FaultPlan {
  const delayMin_ms = rng.between(0.02, 1);
  const plan: FaultPlan = {
    drop: rng.chance(0.25) ? 0 : rng.between(0, 0.3),
    duplicate: rng.chance(0.25) ? 0 : rng.between(0, 0.5),
    garbage: rng.chance(0.5) ? 0 : rng.between(0, 0.02),
    delayMin_ms,
    delayMax_ms: delayMin_ms + (rng.chance(0.2) ? 0 : rng.between(0, 5)),
    partitions: [],
    crashes: [],
    clockRates: Array.from({ length: o.nodes }, () => rng.between(-o.maxClockRate, o.maxClockRate)),
  };
  if (rng.chance(0.5)) {
    const episodes = rng.int(1, 4);
    for (let i = 0; i < episodes; i++) {
      const at_ms = rng.between(0, o.faultPhase_ms);
      const duration_ms = rng.between(5, o.faultPhase_ms / 3);
      plan.partitions.push({ at_ms, duration_ms, cut: drawCut(rng, o.nodes) });
    }
  }
  if (rng.chance(0.5)) {
    const episodes = rng.int(1, 4);
    for (let i = 0; i < episodes; i++) {
      plan.crashes.push({ at_ms: rng.between(0, o.faultPhase_ms), duration_ms: rng.between(1, o.faultPhase_ms / 4), node: rng.int(0, o.nodes - 1) });
    }
  }
  return plan;
}

function drawCut(rng: SeededRandom, nodes: number): Array<[NodeId, NodeId]> {
  const side = Array.from({ length: nodes }, () => rng.chance(0.5));
  const symmetric = rng.chance(0.6);
  const cut: Array<[NodeId, NodeId]> = [];
  for (let a = 0; a < nodes; a++) {
    for (let b = 0; b < nodes; b++) {
      if (a === b || side[a] === side[b]) continue;
      // Asymmetric: only links from the `true` side to the other are cut.
      if (symmetric || side[a] === true) cut.push([a, b]);
    }
  }
  return cut;
}

export function describePlan(p: FaultPlan): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return `drop ${pct(p.drop)} dup ${pct(p.duplicate)} garbage ${pct(p.garbage)} delay ${p.delayMin_ms.toFixed(2)}-${p.delayMax_ms.toFixed(2)}ms partitions ${p.partitions.length} crashes ${p.crashes.length}`;
}
