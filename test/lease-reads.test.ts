/**
 * Lease reads on the real core. A lease holder answers reads with no message,
 * so the lease must guarantee that nothing is chosen at another ballot while
 * it serves them (the lease-read invariant, src/verify/invariants.ts):
 * - a grant is bound to a ballot at least the grantor's promise, echoed back,
 *   and counted only for the holder's current ballot;
 * - the holder serves reads only while it leads (not while preparing);
 * - after a leader change, only once it decided what its phase 1 recovered;
 * - and only while clocks drift within the bound the lease subtracts.
 * Each condition is planted as a bug (or the clock is drifted) in a scripted
 * scenario, and the invariant catches it; the same scenario without the bug
 * passes.
 */
import { describe, expect, it } from 'vitest';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import { makeBallot, type NodeId } from '../src/paxos/ballot.js';
import { leadership } from '../src/paxos/introspect.js';
import { LeaseHolder } from '../src/paxos/lease.js';
import { MsgType } from '../src/paxos/messages.js';
import type { PlantedBugs } from '../src/paxos/node.js';
import type { ReplicaConfig } from '../src/paxos/replica.js';
import { SeededRandom } from '../src/base/random.js';
import { runSimulation } from '../src/sim/simulator.js';
import { CALM } from '../src/sim/faults.js';
import type { LeaseReader } from '../src/verify/invariants.js';
import { ScriptedNet, type InFlight } from './support/scripted-net.js';

const SPEC = policySpec('lease', { heartbeat_ms: 10, election_timeout_ms: 50, lease_ms: 100, drift_ms: 10 });

/** A scripted network that checks the lease-read invariant after every step. */
class LeaseNet extends ScriptedNet {
  /** Where the log stood when the scenario's last phase began. */
  healedAt = 0;

  constructor(readonly bugs: PlantedBugs, readonly attemptTimeout_ms = 1e9) {
    super(3, SPEC, { attemptTimeout_ms, sync_ms: 1e9, bugs }, { leaseReads: true });
  }

  readers(): LeaseReader[] {
    const out: LeaseReader[] = [];
    this.replicas.forEach((r, node) => {
      const index = r.leaseReadIndex(this.now);
      if (index >= 0) out.push({ node, ballot: r.leader?.state.leadBallot ?? 0, index, applied: r.firstUndecided });
    });
    return out;
  }

  override flush(node: NodeId): void {
    super.flush(node);
    this.checker.checkLeaseReads([], this.readers(), this.now);
  }

  config(id: NodeId): ReplicaConfig {
    return { id, nodes: 3, policy: createPolicy(SPEC), random: new SeededRandom(id).asFunction(), attemptTimeout_ms: this.attemptTimeout_ms, sync_ms: 1e9, bugs: this.bugs };
  }

  leaseReadViolations(): string[] {
    return this.checker.violations.filter((v) => v.invariant === 'lease-read').map((v) => v.detail);
  }

  otherViolations(): string[] {
    return this.checker.violations.filter((v) => v.invariant !== 'lease-read').map((v) => `${v.invariant}: ${v.detail}`);
  }

  /** Takes the in-flight messages matching `pred` out of the network (to deliver later, or never). */
  take(pred: (m: InFlight) => boolean): InFlight[] {
    const out = this.inflight.filter(pred);
    this.inflight = this.inflight.filter((m) => !pred(m));
    return out;
  }
}

/** Node 0 leads by then: every grantor grants (and so lets prepares through) only lease_ms after it started. */
const T = 150;

const touches = (node: NodeId) => (m: InFlight): boolean => m.from === node || m.to === node;

/**
 * Node 0 leads at b0 and commits A. Cut off, it keeps leading (nothing tells
 * it otherwise). Node 1 finishes phase 1 at a higher ballot without a lease
 * from node 2 (those requests are lost) and commits W. Then node 0's lease
 * request reaches node 2, which promised node 1's ballot.
 */
function ballotScenario(bugs: PlantedBugs): LeaseNet {
  const net = new LeaseNet(bugs);
  net.runUntil(T);
  expect(leadership(net.replica(0))).toBe('leading');
  net.propose(0, 'A');
  net.runUntil(T + 10);
  net.runUntil(T + 400, (m) => touches(0)(m) || (m.from === 1 && m.to === 2 && m.msg.t === MsgType.LeaseRequest));
  expect(leadership(net.replica(1))).toBe('leading');
  expect(leadership(net.replica(0))).toBe('leading');
  net.propose(1, 'W');
  net.runUntil(T + 410, touches(0));
  expect(net.replica(2).decided(1)).toBe('W');
  net.healedAt = net.log.length;
  // Only node 0's lease requests to node 2, and node 2's answers, get through.
  const onlyLease = (m: InFlight): boolean => !((m.from === 0 && m.to === 2 && m.msg.t === MsgType.LeaseRequest) || (m.from === 2 && m.to === 0 && m.msg.t === MsgType.LeaseGrant));
  net.runUntil(T + 440, onlyLease);
  return net;
}

describe('lease reads: a grant is bound to a ballot at least the grantor\'s promise', () => {
  it('the grantor that promised a higher ballot refuses: node 0 never answers a lease read', () => {
    const net = ballotScenario({});
    const last = net.log.slice(net.healedAt);
    // Node 0 renews every lease_ms / 4: two requests in the last 30 ms, both refused.
    const b0 = net.replica(0).leader?.state.leadBallot;
    expect(last.filter((m) => m.from === 0 && m.to === 2 && m.msg.t === MsgType.LeaseRequest && m.msg.ballot === b0).length).toBe(2);
    expect(last.filter((m) => m.from === 2 && m.msg.t === MsgType.LeaseGrant).length).toBe(0);
    expect(net.readers()).toEqual([]);
    expect(net.checker.violations).toEqual([]);
  });

  it('planted: grants that ignore the ballot make node 0 answer without W, and the invariant says so', () => {
    const net = ballotScenario({ leaseIgnoresBallot: true });
    expect(net.readers().map((r) => r.node)).toEqual([0]);
    expect(net.leaseReadViolations()[0]).toMatch(/^n0 would answer a lease read at \d+\.\d{3} ms with slots below 1 applied, but slot 1 was learned already$/);
    expect(net.otherViolations()).toEqual([]);
  });

  it('a grant is matched by ballot and number: a grant for an earlier incarnation\'s request (same number) does not count', () => {
    const lease = { lease_ms: 100, drift_ms: 10 };
    const before = makeBallot(1, 0), after = makeBallot(2, 0);
    const h = new LeaseHolder(lease, 2);
    // The restarted holder's first request is number 1 again, but at its new ballot.
    expect(h.request(after, 0)).toBe(1);
    expect(h.granted(1, before, 1)).toBe(false);
    expect(h.granted(2, before, 1)).toBe(false);
    expect(h.valid(1)).toBe(false);
    expect(h.granted(1, after, 1)).toBe(false); // one grant: not a majority yet
    expect(h.granted(2, after, 1)).toBe(true);
    expect(h.validFor(after, 1)).toBe(true);
    expect(h.validFor(before, 1)).toBe(false);
  });
});

/**
 * Node 0 leads at b0; its accept of V to node 2 is held back, the one to
 * node 1 lost, and node 0 falls silent. Node 1 becomes a candidate and gets a
 * lease (node 2 had promised only b0), but its prepare to node 2 is lost, so
 * it stays preparing. Then node 0's old accept reaches node 2: V is chosen at b0.
 */
function preparingScenario(bugs: PlantedBugs): LeaseNet {
  const net = new LeaseNet(bugs);
  net.runUntil(T);
  expect(leadership(net.replica(0))).toBe('leading');
  net.propose(0, 'V');
  const [held] = net.take((m) => m.from === 0 && m.msg.t === MsgType.Accept && m.to === 2);
  net.take((m) => m.from === 0 && m.msg.t === MsgType.Accept);
  net.runUntil(T + 300, (m) => touches(0)(m) || (m.from === 1 && m.to === 2 && m.msg.t === MsgType.Prepare));
  expect(leadership(net.replica(1))).toBe('preparing');
  expect(net.replica(1).leaseValid(net.now)).toBe(true);
  if (held === undefined) throw new Error('no accept to hold');
  net.inflight.push(held);
  net.deliver((m) => m === held);
  return net;
}

describe('lease reads: only while leading', () => {
  it('a candidate holding a lease does not answer; V chosen at the old ballot breaks nothing', () => {
    const net = preparingScenario({});
    expect(net.checker.chosenIn(0)).toBe('V');
    expect(net.checker.violations).toEqual([]);
  });

  it('planted: a candidate that answers lease reads is caught when the old leader\'s value is chosen', () => {
    const net = preparingScenario({ leaseReadWhileNotLeading: true });
    const b0 = net.replica(0).leader?.state.leadBallot ?? -1;
    const b1 = net.replica(1).leader?.state.leadBallot ?? -1;
    expect(b1).toBeGreaterThan(b0);
    expect(net.leaseReadViolations()[0]).toMatch(new RegExp(`^slot 0 chosen at ballot ${b0} at \\d+\\.\\d{3} ms while n1 could answer lease reads at ballot ${b1}$`));
    expect(net.otherViolations()).toEqual([]);
  });
});

/**
 * Node 0 leads and commits A in slot 0, then crashes and restarts: its
 * learner is empty. Its phase 1 recovers A and its peers grant it a lease
 * again, but its re-proposal of A (and any news of slot 0) is held back.
 */
function recoveryScenario(bugs: PlantedBugs): LeaseNet {
  const net = new LeaseNet(bugs);
  net.runUntil(T);
  net.propose(0, 'A');
  net.runUntil(T + 10);
  expect([1, 2].map((i) => net.replica(i).decided(0))).toEqual(['A', 'A']);
  net.restart(0, net.config(0));
  // The restarted node grants nothing (its own prepares included) for lease_ms: it leads after that.
  const phase1Only = (m: InFlight): boolean =>
    (m.from === 0 && m.msg.t !== MsgType.Prepare && m.msg.t !== MsgType.LeaseRequest && m.msg.t !== MsgType.Heartbeat) ||
    (m.to === 0 && m.msg.t !== MsgType.Promise && m.msg.t !== MsgType.LeaseGrant);
  net.runUntil(T + 140, phase1Only);
  expect(leadership(net.replica(0))).toBe('leading');
  expect(net.replica(0).leaseValid(net.now)).toBe(true);
  expect(net.replica(0).firstUndecided).toBe(0);
  return net;
}

describe('lease reads: after a leader change, only once what phase 1 recovered is decided', () => {
  it('the restarted leader waits: no lease read until slot 0 is decided again, then it answers with it', () => {
    const net = recoveryScenario({});
    expect(net.replica(0).leaseReadIndex(net.now)).toBe(-1);
    net.runUntil(T + 150);
    expect(net.replica(0).decided(0)).toBe('A');
    expect(net.replica(0).leaseReadIndex(net.now)).toBe(1);
    expect(net.checker.violations).toEqual([]);
  });

  it('planted: a leader that answers before deciding what it recovered is caught', () => {
    const net = recoveryScenario({ leaseReadBeforeRecovered: true });
    expect(net.leaseReadViolations()[0]).toMatch(/^n0 would answer a lease read at \d+\.\d{3} ms with slots below 0 applied, but slot 0 was learned already$/);
    expect(net.otherViolations()).toEqual([]);
  });
});

describe('lease reads: clock drift, on the simulator\'s clocks', () => {
  // Node 0 leads, then is cut off at 400 ms; nodes 1 and 2 keep proposing. Its clock runs at rate `rate`.
  const run = (rate: number) =>
    runSimulation({
      seed: 5, replicas: 3, proposers: 3, policy: SPEC, proposalsPerProposer: 30, faultPhase_ms: 800,
      faults: { ...CALM, clockRates: [rate, 0, 0] }, isolate: { node: 0, at_ms: 400 },
    });

  for (const rate of [-0.02, 0.02]) {
    it(`within the bound (node 0's clock ${rate * 100}% off, the lease subtracts 10%): no violation, every proposal decided`, () => {
      const r = run(rate);
      expect(r.violations).toEqual([]);
      expect(r.livenessFailure).toBeNull();
      expect(r.decided).toBe(90);
    });
  }

  it('beyond the bound (node 0\'s clock at half speed): it believes its lease after the grants ran out, and the invariant catches the new leader\'s choices', () => {
    const r = run(-0.5);
    const kinds = new Set(r.violations.map((v) => v.invariant));
    // Two leases at once too: the older check sees the overlap, the new one what it costs reads.
    expect([...kinds].sort()).toEqual(['lease-exclusive', 'lease-read']);
    expect(r.violations.find((v) => v.invariant === 'lease-read')?.detail).toMatch(/^slot \d+ chosen at ballot \d+ at \d+\.\d{3} ms while n0 could answer lease reads at ballot \d+$/);
  });
});
