/**
 * The deterministic simulator over the real core: many seeds with swarm faults,
 * zero invariant violations; determinism; and planted bugs that must be caught
 * (a checker that never fails is a defect).
 */
import { describe, expect, it } from 'vitest';
import type { PlantedBugs } from '../src/paxos/replica.js';
import { policySpec } from '../src/contention/registry.js';
import { runSimulation, type SimConfig } from '../src/sim/simulator.js';

function sweep(policy: string, seeds: number, first = 1, extra: Partial<SimConfig> = {}) {
  const failures: string[] = [];
  const liveness: string[] = [];
  let decided = 0;
  let malformed = 0;
  for (let seed = first; seed < first + seeds; seed++) {
    const replicas = seed % 2 === 0 ? 3 : 5;
    const proposers = Math.min(2 + (seed % 4), replicas);
    const r = runSimulation({ seed, replicas, proposers, policy: policySpec(policy), ...extra });
    decided += r.decided;
    malformed += r.malformedDropped;
    if (r.violations.length > 0) failures.push(`seed ${seed}: ${r.violations[0]?.invariant} ${r.violations[0]?.detail}`);
    if (r.livenessFailure !== null) liveness.push(`seed ${seed}: ${r.livenessFailure}`);
  }
  return { failures, liveness, decided, malformed };
}

describe('simulation: safety under swarm faults', () => {
  it('1,000 seeds across 3 and 5 replicas and 2-5 proposers: no violation, every proposal decided after healing', () => {
    const r = sweep('exponential', 1000, 1);
    expect(r.failures).toEqual([]);
    expect(r.liveness).toEqual([]);
    // Every proposal of every seed (5 per proposer).
    expect(r.decided).toBe(16_250);
    // Garbage on the wire was injected, counted and dropped, and the replicas kept deciding.
    expect(r.malformed).toBe(2519);
  });
});

describe('simulation: replicas that forget old decided slots', () => {
  // Small retention exercises forgetting (acceptor and learner state below the frontier dropped).
  // Without snapshots a replica that falls behind cannot catch up, so liveness is not asked here (see below).
  for (const policy of ['leader', 'exponential']) {
    it(`${policy}: 500 seeds with retainDecided 3, no violation`, () => {
      const failures: string[] = [];
      for (let seed = 1; seed <= 500; seed++) {
        const replicas = seed % 2 === 0 ? 3 : 5;
        const r = runSimulation({ seed: seed + 20_000, replicas, proposers: Math.min(2 + (seed % 4), replicas), policy: policySpec(policy), retainDecided: 3, proposalsPerProposer: 8, maxEvents: 100_000 });
        if (r.violations.length > 0) failures.push(`seed ${seed + 20_000}: ${r.violations[0]?.invariant} ${r.violations[0]?.detail}`);
      }
      expect(failures).toEqual([]);
    });
  }
});

describe('simulation: snapshots, compaction and catch-up', () => {
  // retainDecided 3 and a snapshot every 4 slots: nodes forget fast, compact their records at each snapshot,
  // restart from snapshots, and a node behind the others' window (a partition, a crash) catches up by snapshot,
  // chunk by chunk (8 characters each), checked against the values chosen below it.
  const SWEEP: Array<[string, { decided: number; installed: number; chunks: number }]> = [
    ['exponential', { decided: 7800, installed: 171, chunks: 562 }],
    ['leader', { decided: 7800, installed: 333, chunks: 1094 }],
  ];
  for (const [policy, totals] of SWEEP) {
    it(`${policy}: 300 seeds, no violation, and every proposal decided and learned everywhere after healing (${totals.installed} snapshots installed)`, () => {
      const failures: string[] = [];
      const sum = { decided: 0, installed: 0, chunks: 0 };
      for (let seed = 30_001; seed <= 30_300; seed++) {
        const replicas = seed % 2 === 0 ? 3 : 5;
        const r = runSimulation({ seed, replicas, proposers: Math.min(2 + (seed % 4), replicas), policy: policySpec(policy), retainDecided: 3, snapshotEvery: 4, proposalsPerProposer: 8, maxEvents: 300_000 });
        if (r.violations.length > 0) failures.push(`seed ${seed}: ${r.violations[0]?.invariant} ${r.violations[0]?.detail}`);
        if (r.livenessFailure !== null) failures.push(`seed ${seed}: ${r.livenessFailure}`);
        sum.decided += r.decided;
        sum.installed += r.stats.snapshotsInstalled;
        sum.chunks += r.stats.snapshotChunksReceived;
      }
      expect(failures).toEqual([]);
      expect(sum).toEqual(totals);
    });
  }

  // Found by a review: a proposer-only node learns only through LearnRequests under `leader`; with this much
  // forgetting it installs snapshots that hold values it still owed, which it used to forward again for ever
  // (9 of these 100 seeds were not live, seed 4 among them).
  it('leader with a proposer-only node (3 acceptors, 4 proposers, 30 proposals each): 100 seeds, no violation, every value decided', () => {
    const failures: string[] = [];
    let decided = 0;
    let slots = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const r = runSimulation({ seed, replicas: 3, proposers: 4, policy: policySpec('leader'), retainDecided: 3, snapshotEvery: 4, proposalsPerProposer: 30, maxEvents: 300_000 });
      if (r.violations.length > 0) failures.push(`seed ${seed}: ${r.violations[0]?.invariant} ${r.violations[0]?.detail}`);
      if (r.livenessFailure !== null) failures.push(`seed ${seed}: ${r.livenessFailure}`);
      decided += r.decided;
      slots += r.slotsChosen;
    }
    expect(failures).toEqual([]);
    expect(decided).toBe(12_000);
    expect(slots).toBe(SLOTS_PROPOSER_ONLY);
  });

  it('without snapshots the same runs stall: learners behind a forgotten window never catch up', () => {
    let stalled = 0;
    for (let seed = 30_001; seed <= 30_100; seed++) {
      const replicas = seed % 2 === 0 ? 3 : 5;
      const r = runSimulation({ seed, replicas, proposers: Math.min(2 + (seed % 4), replicas), policy: policySpec('exponential'), retainDecided: 3, proposalsPerProposer: 8, maxEvents: 300_000 });
      expect(r.violations).toEqual([]);
      if (r.livenessFailure !== null) stalled++;
    }
    expect(stalled).toBe(STALLED_WITHOUT_SNAPSHOTS);
  });
});

/** Slots chosen over those 100 seeds (12,000 proposals): the rest are no-ops and copies a leader change re-proposed. */
const SLOTS_PROPOSER_ONLY = 13_123;
/** Of seeds 30,001-30,100 (exponential, retainDecided 3, no snapshots), the runs that miss liveness. */
const STALLED_WITHOUT_SNAPSHOTS = 50;

describe('simulation: determinism', () => {
  it('the same seed replays the same run, event for event', () => {
    const cfg: SimConfig = { seed: 4242, replicas: 5, proposers: 3, policy: policySpec('leader') };
    const a = runSimulation(cfg);
    const b = runSimulation(cfg);
    expect(a.events).toBeGreaterThan(100);
    expect(b.eventHash).toBe(a.eventHash);
    expect(b.events).toBe(a.events);
    expect(b.endTime_ms).toBe(a.endTime_ms);
    const c = runSimulation({ ...cfg, seed: 4243 });
    expect(c.eventHash).not.toBe(a.eventHash);
  });
});

describe('simulation: planted bugs are caught', () => {
  /** The first seed (of 20) whose run breaks an invariant, with every invariant that run broke. */
  function firstCatch(bug: keyof PlantedBugs, policy: string, extra: Partial<SimConfig> = {}): { seed: number; invariants: string[] } {
    for (let seed = 1; seed <= 20; seed++) {
      const replicas = seed % 2 === 0 ? 3 : 5;
      const r = runSimulation({ seed, replicas, proposers: Math.min(2 + (seed % 4), replicas), policy: policySpec(policy), bugs: { [bug]: true }, ...extra });
      if (r.violations.length > 0) return { seed, invariants: [...new Set(r.violations.map((v) => v.invariant))].sort() };
    }
    return { seed: -1, invariants: [] };
  }

  // The lease-read bugs are rarer in the swarm (a read must land in the window the bug opens): the first seed that
  // catches each, of seeds 1-400 (3 and 6 of the 400 do). leaseIgnoresBallot is caught by none of 400 (a reviewer
  // ran 4,000): only the scripted scenario in lease-reads.test.ts catches it.
  it('lease-read bugs under policy lease: leaseReadBeforeRecovered caught at seed 7, leaseReadWhileNotLeading at seed 238 (lease-read)', () => {
    const first = (bug: keyof PlantedBugs): { seed: number; invariants: string[] } => {
      for (let seed = 1; seed <= 400; seed++) {
        const replicas = seed % 2 === 0 ? 3 : 5;
        const r = runSimulation({ seed, replicas, proposers: Math.min(2 + (seed % 4), replicas), policy: policySpec('lease'), bugs: { [bug]: true } });
        if (r.violations.length > 0) return { seed, invariants: [...new Set(r.violations.map((v) => v.invariant))].sort() };
      }
      return { seed: -1, invariants: [] };
    };
    expect(first('leaseReadBeforeRecovered')).toEqual({ seed: 7, invariants: ['lease-read'] });
    expect(first('leaseReadWhileNotLeading')).toEqual({ seed: 238, invariants: ['lease-read'] });
  });

  // Each bug, under a per-slot and a stable-leader policy: caught within the first twenty seeds, naming what it breaks.
  const CAUGHT: Array<[keyof PlantedBugs, string, number, string[]]> = [
    ['quorumOneTooSmall', 'exponential', 2, ['agreement', 'learned-chosen']],
    ['quorumOneTooSmall', 'leader', 1, ['learned-chosen']],
    ['acceptBelowPromise', 'exponential', 1, ['accept-at-promise', 'agreement', 'votes-real']],
    ['acceptBelowPromise', 'leader', 19, ['accept-at-promise']],
    ['proposeArbitraryValue', 'exponential', 1, ['agreement', 'learned-chosen']],
    ['proposeArbitraryValue', 'leader', 7, ['agreement', 'learned-chosen']],
    ['reuseBallotAfterRestart', 'exponential', 1, ['persist-before-send']],
    ['reuseBallotAfterRestart', 'leader', 1, ['persist-before-send']],
    ['skipPersistPromise', 'exponential', 1, ['persist-before-send']],
    ['skipPersistPromise', 'leader', 1, ['persist-before-send', 'promise-monotonic']],
  ];
  for (const [bug, policy, seed, invariants] of CAUGHT) {
    it(`${bug} (${policy}): caught at seed ${seed}, breaking ${invariants.join(' and ')}`, () => {
      expect(firstCatch(bug, policy)).toEqual({ seed, invariants });
    });
  }

  it('promiseForgotten (exponential, with snapshots): a prepare below the snapshot answered "no vote" is caught at seed 1, hiding a real vote', () => {
    expect(firstCatch('promiseForgotten', 'exponential', { retainDecided: 3, snapshotEvery: 4 })).toEqual({ seed: 1, invariants: ['forgotten-refused', 'persist-before-send', 'votes-real'] });
  });

  // Reusing a ballot after a restart cannot by itself get two values chosen here: promises are
  // strict (ballot > promise), so two phase-1 quorums for one ballot would need a common acceptor to
  // promise it twice. It shows as ballot-monotonic (and persist-before-send), not as disagreement.
  const EFFECTS: Array<[keyof PlantedBugs, string, number, string[]]> = [
    ['skipPersistPromise', 'exponential', 1, ['promise-monotonic']],
    ['skipPersistPromise', 'leader', 1, ['promise-monotonic']],
    ['reuseBallotAfterRestart', 'exponential', 1, ['ballot-monotonic']],
    ['reuseBallotAfterRestart', 'leader', 7, ['ballot-monotonic']],
  ];
  for (const [bug, policy, seed, invariants] of EFFECTS) {
    it(`${bug} (${policy}) without the direct persist-before-send check: caught through its effect at seed ${seed} (${invariants.join(', ')})`, () => {
      expect(firstCatch(bug, policy, { checkPersistence: false })).toEqual({ seed, invariants });
    });
  }
});
