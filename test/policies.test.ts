/**
 * Contention policies in the simulator: safety for every policy, liveness
 * bounds after healing, the lease exclusivity check (and that it can fail),
 * and the documented ranges of the backoff jitter modes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exponentialDelay, JITTERS, exponentialCeiling_ms, type Jitter } from '../src/contention/backoff.js';
import { POLICY_NAMES, createPolicy, policySpec } from '../src/contention/registry.js';
import { CALM, type FaultPlan } from '../src/sim/faults.js';
import { runSimulation } from '../src/sim/simulator.js';
import type { PerSlotProposer } from '../src/paxos/proposer.js';
import { ScriptedNet } from './support/scripted-net.js';

/** Virtual ms after faults stop within which every pending proposal must be decided. */
const LIVENESS_BOUND_MS = 5_000;

describe('every policy is safe under swarm faults', () => {
  for (const policy of POLICY_NAMES) {
    it(`${policy}: 1,000 seeds, zero violations${policy === 'immediate' ? '' : `, all decided within ${LIVENESS_BOUND_MS} ms of healing`}`, () => {
      const violations: string[] = [];
      const liveness: string[] = [];
      let decided = 0, decidedNothing = 0;
      for (let seed = 1; seed <= 1000; seed++) {
        const replicas = seed % 2 === 0 ? 3 : 5;
        const r = runSimulation({ seed: seed + 10_000, replicas, proposers: Math.min(2 + (seed % 4), replicas), policy: policySpec(policy), liveness_ms: LIVENESS_BOUND_MS,
          // A livelocked `immediate` run is cut short: its safety is what is checked here.
          maxEvents: policy === 'immediate' ? 10_000 : 200_000 });
        if (r.violations.length > 0) violations.push(`seed ${seed + 10_000}: ${r.violations[0]?.detail}`);
        if (r.livenessFailure !== null) liveness.push(`seed ${seed + 10_000}: ${r.livenessFailure}`);
        decided += r.decided;
        if (r.decided === 0) decidedNothing++;
      }
      expect(violations).toEqual([]);
      if (policy !== 'immediate') {
        expect(liveness).toEqual([]);
        expect(decided).toBe(16_250);
        return;
      }
      // What the safety check saw in the runs cut short: 205 runs livelocked (all by the event budget), yet 998 of
      // the 1,000 decided something and 12,782 values were chosen in all, each checked against every invariant.
      expect(liveness).toHaveLength(205);
      expect(liveness.filter((l) => l.includes('event budget of 10000 exhausted'))).toHaveLength(205);
      expect(decidedNothing).toBe(2);
      expect(decided).toBe(12_782);
    });
  }

  it('immediate decides under a benign schedule (no faults)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = runSimulation({ seed, replicas: 3, proposers: 3, policy: policySpec('immediate'), faults: 'calm' });
      expect(r.violations).toEqual([]);
      expect(r.livenessFailure).toBeNull();
    }
  });

  it('stable leader: once elected, proposals need one ballot each and few leader changes', () => {
    const r = runSimulation({ seed: 5, replicas: 5, proposers: 5, policy: policySpec('leader', { window: 8 }), faults: 'calm', proposalsPerProposer: 20 });
    expect(r.livenessFailure).toBeNull();
    expect(r.decided).toBe(100);
    expect(r.stats.leaderChanges).toBe(1);
    expect(r.stats.nacks).toBe(0);
  });
});

describe('leases', () => {
  // Node 0 leads and holds the lease, then is cut off; the others elect node 1 and lease to it.
  function partitionedLeader(rate0: number): FaultPlan {
    return {
      ...CALM,
      partitions: [{ at_ms: 400, duration_ms: 500, cut: [[0, 1], [0, 2], [1, 0], [2, 0]] }],
      clockRates: [rate0, 0, 0],
    };
  }
  const spec = policySpec('lease', { lease_ms: 100, drift_ms: 10 });

  it('with clock drift within the bound, never two holders at the same real time', () => {
    // Node 0's clock runs 4% slow: its 90 ms lease lasts 93.75 real ms, inside the grantors' 100.
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = runSimulation({ seed, replicas: 3, proposers: 3, policy: spec, faults: partitionedLeader(-0.04), faultPhase_ms: 1200 });
      expect(r.violations).toEqual([]);
      // Node 0's lease and then node 1's ran out: two expiries.
      expect(r.stats.leaseExpiries).toBe(2);
    }
  });

  it('with drift beyond the bound, the checker sees two holders (the check can fail)', () => {
    // Node 0's clock runs at half speed: its 90 ms lease lasts 180 real ms.
    const r = runSimulation({ seed: 1, replicas: 3, proposers: 3, policy: spec, faults: partitionedLeader(-0.5), faultPhase_ms: 1200 });
    // lease-read too: the new leader's values are chosen while node 0 could still answer lease reads (test/lease-reads.test.ts).
    expect([...new Set(r.violations.map((v) => v.invariant))].sort()).toEqual(['lease-exclusive', 'lease-read']);
  });

  it('swarm faults with drift within the bound: no overlap over 300 seeds', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = runSimulation({ seed, replicas: 3 + (seed % 2) * 2, proposers: 2, policy: spec, maxClockRate: 0.04 });
      expect(r.violations).toEqual([]);
    }
  });
});

describe('backoff jitter stays in its documented range', () => {
  const params = fc.record({
    base_ms: fc.double({ min: 0.01, max: 100, noNaN: true }),
    capOver: fc.double({ min: 0, max: 1000, noNaN: true }),
    multiplier: fc.double({ min: 1, max: 4, noNaN: true }),
  });

  for (const jitter of JITTERS) {
    it(jitter, () => {
      fc.assert(
        fc.property(params, fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 30 }), fc.array(fc.double({ min: 0, max: 0.9999999, noNaN: true }), { minLength: 30, maxLength: 30 }), (p, attempts, draws) => {
          const cfg = { base_ms: p.base_ms, cap_ms: p.base_ms + p.capOver, multiplier: p.multiplier, jitter: jitter as Jitter };
          const delay = exponentialDelay(cfg);
          let i = 0;
          const random = (): number => draws[i++ % draws.length] ?? 0;
          let previous = cfg.base_ms;
          for (const attempt of attempts) {
            const ceil = exponentialCeiling_ms(cfg, attempt);
            const d = delay(attempt, previous, random);
            expect(Number.isFinite(d)).toBe(true);
            if (jitter === 'none') expect(d).toBe(ceil);
            if (jitter === 'full') expect(d >= 0 && d < ceil + 1e-9).toBe(true);
            if (jitter === 'equal') expect(d >= ceil / 2 - 1e-9 && d < ceil + 1e-9).toBe(true);
            if (jitter === 'decorrelated') {
              expect(d).toBeGreaterThanOrEqual(cfg.base_ms);
              expect(d).toBeLessThanOrEqual(Math.max(cfg.base_ms, Math.min(cfg.cap_ms, previous * 3)) + 1e-9);
            }
            previous = d;
            expect(d).toBeLessThanOrEqual(cfg.cap_ms + 1e-9);
          }
        }),
      );
    });
  }

  it('decorrelated jitter grows from the previous delay, and starts from base_ms without one', () => {
    const delay = exponentialDelay({ jitter: 'decorrelated', base_ms: 1, cap_ms: 1000, multiplier: 2 });
    const top = (): number => 0.999;
    let previous = 0;
    for (let attempt = 1; attempt <= 10; attempt++) previous = delay(attempt, previous, top);
    expect(previous).toBeGreaterThan(100);
    // No previous delay (a fresh stream: the replica resets it when one of its values is decided): at most 3 * base.
    expect(delay(1, 0, top)).toBeLessThan(3);
  });

  it('a per-slot replica resets its decorrelated backoff when its value is decided', () => {
    const net = new ScriptedNet(3, policySpec('exponential', { jitter: 'decorrelated', base_ms: 1, cap_ms: 1000 }), { attemptTimeout_ms: 5 });
    const proposer = net.replica(0).role as PerSlotProposer;
    net.propose(0, 'A');
    // Every prepare is lost: the attempt times out again and again, and the delays grow from each other.
    for (let t = 1; t < 2_000 && proposer.state.backoffPrevious_ms < 50; t++) {
      net.inflight = [];
      net.now = t;
      net.replica(0).tick(t);
      net.flush(0);
    }
    expect(proposer.state.backoffPrevious_ms).toBeGreaterThanOrEqual(50);
    net.runUntil(net.now + 5_000);
    expect(net.replica(0).decided(0)).toBe('A');
    expect(proposer.state.backoffPrevious_ms).toBe(0);
  });
});

describe('policy parameters', () => {
  it('rejects bad parameters with a one-line reason', () => {
    expect(() => policySpec('nope')).toThrow(/unknown policy 'nope'/);
    expect(() => policySpec('exponential', { cap_ms: 0.5, base_ms: 1 })).toThrow(/cap_ms/);
    expect(() => policySpec('lease', { lease_ms: 10, drift_ms: 10 })).toThrow(/drift_ms/);
    expect(() => policySpec('fixed', { window: 0 })).toThrow(/window/);
    expect(() => policySpec('exponential', { jitter: 'wild' as Jitter })).toThrow(/jitter/);
  });
});
