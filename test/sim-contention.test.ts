/**
 * The simulator's contention instrument: the latency model's ranges, per-link
 * overrides, per-node processing time, the workloads, the duel tracker, the
 * metric definitions on runs small enough to work out by hand (docs/contention.md
 * "Metrics"), and determinism of the new paths.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policySpec } from '../src/contention/registry.js';
import { SeededRandom } from '../src/base/random.js';
import { DuelTracker, LEADERSHIP, type ProposerView } from '../src/sim/duels.js';
import { drawLatency, formatLatency, latencyRange, parseLatency, type LatencyModel } from '../src/sim/latency.js';
import { Network, parseLink } from '../src/sim/network.js';
import { runSimulation, type SimConfig } from '../src/sim/simulator.js';
import { Timeline } from '../src/sim/timeline.js';

const CONST_5MS = parseLatency('latency', 'const:5ms');

/** A calm burst: every proposer's proposals at t = 0. */
function burst(extra: Partial<SimConfig> & Pick<SimConfig, 'replicas' | 'proposers'>, proposals = 1): SimConfig {
  return { seed: 1, policy: policySpec('exponential'), faults: 'calm', workload: { kind: 'burst', proposalsPerProposer: proposals }, latency: CONST_5MS, ...extra };
}

describe('latency models', () => {
  const model: fc.Arbitrary<LatencyModel> = fc.oneof(
    fc.record({ kind: fc.constant('const' as const), ms: fc.double({ min: 0, max: 1000, noNaN: true }) }),
    fc.tuple(fc.double({ min: 0, max: 1000, noNaN: true }), fc.double({ min: 0, max: 1000, noNaN: true })).map(([a, b]) => ({ kind: 'uniform' as const, lo_ms: Math.min(a, b), hi_ms: Math.max(a, b) })),
    fc.record({ kind: fc.constant('normal' as const), mean_ms: fc.double({ min: 0, max: 1000, noNaN: true }), sd_ms: fc.double({ min: 0, max: 500, noNaN: true }) }),
    fc.record({ kind: fc.constant('lognormal' as const), median_ms: fc.double({ min: 0, max: 1000, noNaN: true }), sigma: fc.double({ min: 0, max: 3, noNaN: true }) }),
  );
  const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  it('every draw lies within the stated range, whatever the uniform draws', () => {
    fc.assert(
      fc.property(model, fc.array(unit, { minLength: 2, maxLength: 2 }), (m, us) => {
        let k = 0;
        const d = drawLatency(m, () => us[k++ % us.length] as number);
        const [lo, hi] = latencyRange(m);
        return d >= lo && d <= hi;
      }),
      { numRuns: 5000 },
    );
  });

  it('the extreme uniform draws reach the cut tails exactly (the range is tight)', () => {
    const m = parseLatency('latency', 'normal:10ms,2ms');
    expect(latencyRange(m)).toEqual([2, 18]);
    // u = 1 - 0 = 1 gives z = 0: the mean.
    expect(drawLatency(m, () => 0)).toBe(10);
    expect(latencyRange(parseLatency('latency', 'uniform:2ms-8ms'))).toEqual([2, 8]);
    expect(latencyRange(parseLatency('latency', 'const:250us'))).toEqual([0.25, 0.25]);
  });

  it('parses what it formats', () => {
    for (const raw of ['const:5ms', 'uniform:2ms-8ms', 'normal:10ms,2ms', 'lognormal:10ms,0.5', 'const:250us', 'uniform:0-1s']) {
      const m = parseLatency('latency', raw);
      expect(parseLatency('latency', formatLatency(m))).toEqual(m);
    }
    expect(parseLatency('latency', 'uniform:2-8ms')).toEqual({ kind: 'uniform', lo_ms: 2, hi_ms: 8 });
  });

  it('refuses malformed models with the flag named', () => {
    for (const raw of ['', 'const', 'const:5', 'uniform:8ms-2ms', 'normal:10ms', 'normal:10ms,2', 'lognormal:10ms,x', 'lognormal:10ms,4', 'gauss:1ms', 'const:2h']) {
      expect(() => parseLatency('latency', raw)).toThrow(/^--latency\b/);
    }
  });
});

describe('network: per-link overrides', () => {
  it('A-B overrides both directions, A>B one, * every node, and later overrides win', () => {
    const base = parseLatency('latency', 'const:1ms');
    const links = ['0-*=const:40ms', '0>1=const:7ms', '2>0=const:3ms'].map((l) => parseLink('link', l));
    const net = new Network(3, base, links, new SeededRandom(1));
    const ms = (a: number, b: number): number => net.draw(a, b);
    expect([ms(0, 1), ms(1, 0), ms(0, 2), ms(2, 0), ms(1, 2), ms(2, 1)]).toEqual([7, 40, 40, 3, 1, 1]);
  });

  it('refuses a malformed link or one naming a missing node', () => {
    expect(() => parseLink('link', '0=1=const:1ms')).toThrow(/^--link must look like/);
    expect(() => new Network(3, CONST_5MS, [parseLink('link', '0-3=const:1ms')], new SeededRandom(1))).toThrow(/names node 3, but nodes are 0\.\.2/);
  });

  it('an override changes a run exactly: one proposer, two round trips on its links', () => {
    const fast = parseLatency('latency', 'const:1ms');
    const plain = runSimulation(burst({ replicas: 3, proposers: 1, latency: fast }));
    expect(plain.metrics.first_decision_ms).toBe(4);
    // Node 0 far from everyone: prepare, promise, accept, accepted each take 40 ms.
    const far = runSimulation(burst({ replicas: 3, proposers: 1, latency: fast, links: [parseLink('link', '0-*=const:40ms')] }));
    expect(far.metrics.first_decision_ms).toBe(160);
    // Only its sends are slow: 40 out, 1 back, twice.
    const out = runSimulation(burst({ replicas: 3, proposers: 1, latency: fast, links: [parseLink('link', '0>*=const:40ms')] }));
    expect(out.metrics.first_decision_ms).toBe(82);
    // One slow link leaves a fast quorum (node 0 and node 2).
    const one = runSimulation(burst({ replicas: 3, proposers: 1, latency: fast, links: [parseLink('link', '0-1=const:40ms')] }));
    expect(one.metrics.first_decision_ms).toBe(4);
  });
});

describe('per-node processing time', () => {
  it('each message costs its time at the receiver, and messages queue behind each other', () => {
    // const 5 ms: prepare at 0 reaches n1 at 5, handled by 6; its promise reaches n0 at 11, handled by 12 (n2's waits until 13);
    // accept out at 12, handled at n1 by 18; accepted back at 23, handled by 24.
    expect(runSimulation(burst({ replicas: 3, proposers: 1 })).metrics.first_decision_ms).toBe(20);
    expect(runSimulation(burst({ replicas: 3, proposers: 1, processing_ms: 1 })).metrics.first_decision_ms).toBe(24);
  });

  it('a crash drops the messages a node had queued', () => {
    const r = runSimulation({ seed: 7, replicas: 5, proposers: 3, policy: policySpec('exponential'), processing_ms: 0.5 });
    expect(r.violations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
  });
});

describe('metric definitions, worked by hand', () => {
  it('one proposer, one proposal, 3 replicas, const 5 ms: 10 messages, 6 persist batches, decided at 20 ms', () => {
    const m = runSimulation(burst({ replicas: 3, proposers: 1 })).metrics;
    expect(m).toMatchObject({
      proposals: 1, decided: 1, attempts_per_proposal: 1, attempts_max: 1, wasted_ballots_per_proposal: 0, rejections_per_proposal: 0,
      // prepare, promise, accept, accepted, decide: two of each (the proposer's own are not sent).
      messages_per_commit: 10,
      // n0: round + own promise (one step); n1, n2: promise; n0: own vote; n1, n2: vote.
      fsyncs_per_commit: 6,
      latency_ms_p50: 20, latency_ms_max: 20, makespan_ms: 20, goodput_per_s: 50, first_decision_ms: 20, duels: 0, ballots_started: 1,
    });
  });

  it('a scripted duel: two proposers at t=0, the lower ballot is rejected, loses slot 0 and wins slot 1', () => {
    // n0 prepares r1.n0, n1 prepares r1.n1 at 0. At 5 n1 nacks r1.n0; n0 and n2 promise r1.n1. At 10 the nack ends
    // n0's phase 1 (one duel, 0..10); n1 has its quorum, is decided at 20, and tells n0 at 25; n0 moves its value to
    // slot 1 with r2.n0 at once and is decided at 45.
    const r = runSimulation(burst({ replicas: 3, proposers: 2, policy: policySpec('fixed', { delay_ms: 100 }) }));
    expect(r.metrics).toMatchObject({
      proposals: 2, decided: 2, duels: 1, ballots_started: 3,
      // r1.n0 chose nothing: one wasted ballot over two commits.
      wasted_ballots_per_proposal: 0.5,
      rejections_per_proposal: 0.5,
      latency_ms_p50: 20, latency_ms_max: 45, makespan_ms: 45,
    });
    // Attempts count across slots: n0's value started r1.n0 in slot 0 and r2.n0 in slot 1, n1's one ballot: (2 + 1) / 2.
    expect(r.metrics.attempts_per_proposal).toBe(1.5);
  });

  it('with proposers running into each other under the immediate policy and a symmetric network, the duel never ends', () => {
    const r = runSimulation(burst({ replicas: 3, proposers: 2, policy: policySpec('immediate'), liveness_ms: 500 }));
    expect(r.decided).toBe(0);
    expect(r.livenessFailure).toMatch(/^not all decided/);
    expect(r.metrics.duels).toBeGreaterThan(20);
    expect(r.metrics.livelock_episodes).toBe(1);
  });
});

describe('workloads', () => {
  it('conflict 0 routes every proposal through node 0: no duels, one ballot each', () => {
    const r = runSimulation(burst({ replicas: 3, proposers: 3, workload: { kind: 'burst', proposalsPerProposer: 4, conflict_pct: 0 } }));
    expect(r.decided).toBe(12);
    expect(r.metrics).toMatchObject({ duels: 0, attempts_per_proposal: 1, wasted_ballots_per_proposal: 0, rejections_per_proposal: 0 });
    // One at a time, 20 ms each.
    expect(r.metrics.makespan_ms).toBe(240);
    const racing = runSimulation(burst({ replicas: 3, proposers: 3, workload: { kind: 'burst', proposalsPerProposer: 4, conflict_pct: 100 } }));
    expect(racing.decided).toBe(12);
    expect(racing.metrics.duels).toBeGreaterThan(0);
  });

  it('burst: everything is submitted at t=0, so the makespan is the slowest latency', () => {
    const r = runSimulation(burst({ replicas: 5, proposers: 5, latency: parseLatency('latency', 'normal:10ms,2ms') }, 2));
    expect(r.decided).toBe(10);
    expect(r.metrics.makespan_ms).toBe(r.metrics.latency_ms_max);
  });

  it('closed: each proposer issues its proposals, `outstanding` at a time', () => {
    const r = runSimulation(burst({ replicas: 3, proposers: 2, workload: { kind: 'closed', proposalsPerProposer: 6, outstanding: 2 } }));
    expect(r.livenessFailure).toBeNull();
    expect(r.proposals).toBe(12);
    expect(r.decided).toBe(12);
  });

  it('closed with a duration: no proposal after it', () => {
    const r = runSimulation(burst({ replicas: 3, proposers: 1, workload: { kind: 'closed', proposalsPerProposer: 1000, outstanding: 1, duration_ms: 100 } }));
    // One at a time, 20 ms each: submitted at 0, 20, ..., 100.
    expect(r.proposals).toBe(6);
    expect(r.decided).toBe(6);
  });

  it('open: Poisson arrivals from the workload stream, the same under every policy (common random numbers)', () => {
    const open = (policy: string) =>
      runSimulation(burst({ replicas: 3, proposers: 3, seed: 5, policy: policySpec(policy), workload: { kind: 'open', rate_per_s: 200, duration_ms: 500 } }));
    const a = open('exponential');
    const b = open('fixed');
    expect(a.livenessFailure).toBeNull();
    expect(a.decided).toBe(a.proposals);
    expect(b.proposals).toBe(a.proposals);
    // 200/s for 0.5 s: about 100 arrivals (Poisson; this seed's count).
    expect(a.proposals).toBeGreaterThan(70);
    expect(a.proposals).toBeLessThan(130);
  });

  it('calm runs have latency but no faults', () => {
    const r = runSimulation(burst({ replicas: 5, proposers: 3, latency: parseLatency('latency', 'uniform:2ms-8ms') }, 3));
    expect(r.plan).toMatchObject({ drop: 0, duplicate: 0, garbage: 0, partitions: [], crashes: [] });
    expect(r.malformedDropped).toBe(0);
    expect(r.decided).toBe(9);
    // Healed from the start: the run ends when the last replica learns the last value, not at the end of a fault phase.
    expect(r.healedDecideTime_ms).toBe(r.endTime_ms);
  });

  it('isolate: the leader cut off at 300 ms; failover is timed from the cut', () => {
    const r = runSimulation({
      seed: 3, replicas: 3, proposers: 3, policy: policySpec('leader', { election_timeout_ms: 50 }), faults: 'calm', faultPhase_ms: 2000,
      latency: parseLatency('latency', 'const:1ms'), workload: { kind: 'open', rate_per_s: 100, duration_ms: 1500 }, isolate: { node: 0, at_ms: 300 },
    });
    expect(r.violations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    // Suspicion takes one election timeout at least (each node draws its own in [50, 100) ms).
    expect(r.metrics.failover_ms).toBeGreaterThanOrEqual(50);
    expect(r.metrics.failover_ms).toBeLessThan(400);
  });
});

describe('determinism and the jitter modes', () => {
  const duel = (jitter: string, seed: number) =>
    runSimulation(burst({ seed, replicas: 5, proposers: 5, latency: parseLatency('latency', 'normal:10ms,2ms'), policy: policySpec('exponential', { base_ms: 5, cap_ms: 2000, jitter: jitter as 'none' }) }));

  it('the same seed twice is the same run, event for event, on the new paths (latency, processing, open load)', () => {
    const cfg: SimConfig = {
      seed: 99, replicas: 5, proposers: 4, policy: policySpec('exponential'), latency: parseLatency('latency', 'lognormal:3ms,0.5'),
      links: [parseLink('link', '1-*=uniform:5ms-9ms')], processing_ms: 0.2, workload: { kind: 'open', rate_per_s: 300, duration_ms: 400, conflict_pct: 60 },
    };
    const a = runSimulation(cfg);
    const b = runSimulation(cfg);
    expect(a.events).toBeGreaterThan(1000);
    expect(b.eventHash).toBe(a.eventHash);
    expect(b.metrics).toEqual(a.metrics);
    expect(runSimulation({ ...cfg, seed: 100 }).eventHash).not.toBe(a.eventHash);
  });

  it('a burst with jitter none and with jitter full differ', () => {
    const seeds = [1, 2, 3, 4, 5];
    const none = seeds.map((s) => duel('none', s));
    const full = seeds.map((s) => duel('full', s));
    expect(none.map((r) => r.eventHash)).not.toEqual(full.map((r) => r.eventHash));
    expect(none.map((r) => r.metrics.makespan_ms)).not.toEqual(full.map((r) => r.metrics.makespan_ms));
    expect(duel('full', 3).eventHash).toBe(full[2]?.eventHash);
  });
});

describe('duel tracker', () => {
  /** A proposer view from a table of (slot -> ballot in phase 1). */
  const view = (preparing: Record<number, number>, leading: 'idle' | 'preparing' | 'leading' = 'idle'): ProposerView => ({
    preparingBallot: (slot) => preparing[slot] ?? -1,
    leadership: leading,
  });

  it('counts a duel when a second ballot enters phase 1 of a slot, once per stretch', () => {
    const t = new DuelTracker(3, 2);
    for (let to = 0; to < 3; to++) t.prepared(0, 0, 10); // one broadcast: three copies, one ballot
    expect([t.duels, t.ballotsStarted]).toEqual([0, 1]);
    t.prepared(1, 0, 11);
    expect([t.duels, t.ballotsStarted]).toEqual([1, 2]);
    t.prepared(1, 0, 21); // n1 retries in the same slot: the same duel
    expect([t.duels, t.ballotsStarted]).toEqual([1, 3]);
    t.settle(0, view({})); // n0 left phase 1
    t.prepared(2, 0, 22);
    expect(t.duels).toBe(2);
    t.prepared(2, 1, 32); // another slot, alone there
    expect(t.duels).toBe(2);
    t.settle(1, view({ 0: 21 })); // n1 still preparing ballot 21
    t.settle(2, view({ 1: 32 })); // n2 moved on from slot 0
    expect(t.preparingSlots).toBe(2);
    t.crashed(1);
    t.settle(2, view({}));
    expect(t.preparingSlots).toBe(0);
  });

  it('keys open prepares as the leadership, and counts ballots that got a value chosen by a quorum of Accepted', () => {
    const t = new DuelTracker(3, 2);
    t.prepared(0, LEADERSHIP, 10);
    t.prepared(1, LEADERSHIP, 11);
    expect(t.duels).toBe(1);
    t.settle(0, view({}, 'preparing'));
    expect(t.preparingSlots).toBe(1);
    t.acceptedBy(0, 5, 11);
    t.acceptedBy(0, 5, 11); // a repeat from the same acceptor does not make a quorum
    expect(t.ballotsChoosing).toBe(0);
    t.acceptedBy(2, 5, 11);
    t.acceptedBy(1, 6, 11); // the ballot already chose: counted once
    expect(t.ballotsChoosing).toBe(1);
  });
});

describe('timeline', () => {
  it('pops by time, ties in insertion order, over growth', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 3000 }), (times) => {
        const t = new Timeline<number>();
        times.forEach((at, i) => t.push(at, i));
        const expected = times.map((at, i) => [at, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
        const got: number[] = [];
        for (let x = t.pop(); x !== undefined; x = t.pop()) got.push(x);
        return JSON.stringify(got) === JSON.stringify(expected);
      }),
      { numRuns: 200 },
    );
  });
});
