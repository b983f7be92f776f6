/**
 * Scripted scenarios on the real core, with the test choosing every delivery.
 * Each test cites the protocol rule it checks.
 */
import { describe, expect, it } from 'vitest';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import { makeBallot } from '../src/paxos/ballot.js';
import { Replica } from '../src/paxos/replica.js';
import { SeededRandom } from '../src/base/random.js';
import { MsgType, type Message } from '../src/paxos/messages.js';
import { ScriptedNet, type InFlight } from './support/scripted-net.js';

const is = <T extends Message['t']>(t: T) => (m: InFlight): boolean => m.msg.t === t;

describe('the seed scenario: two coordinators, one acceptor sees both prepares', () => {
  // Nodes 1, 2, 3 of the scenario are ids 0, 1, 2.
  it('counts only promises for its own ballot, moves node 3 to b2, and makes b1 retry higher', () => {
    const net = new ScriptedNet(3, 'immediate');
    net.propose(0, 'A'); // node 1 coordinates with b1
    net.propose(1, 'B'); // node 2 coordinates with b2
    const b1 = makeBallot(1, 0);
    const b2 = makeBallot(1, 1);
    expect(b2).toBeGreaterThan(b1);

    // Node 3 receives prepare(b1), then prepare(b2).
    net.deliver((m) => m.to === 2 && m.msg.t === MsgType.Prepare && m.msg.ballot === b1);
    expect(net.replica(2).promisedIn(0)).toBe(b1);
    net.deliver((m) => m.to === 2 && m.msg.t === MsgType.Prepare && m.msg.ballot === b2);
    // "An acceptor promises the highest ballot it has seen": node 3's promise moved to b2.
    expect(net.replica(2).promisedIn(0)).toBe(b2);

    // Both promises from node 3 reach their coordinators; each coordinator also promised itself.
    net.deliver((m) => m.from === 2 && m.to === 0 && m.msg.t === MsgType.Promise);
    net.deliver((m) => m.from === 2 && m.to === 1 && m.msg.t === MsgType.Promise);
    const promisesFor = (coord: number, b: number): number =>
      net.log.filter((m) => m.to === coord && m.msg.t === MsgType.Promise && m.msg.ballot === b).length;
    expect(promisesFor(0, b1)).toBe(2); // own + node 3
    expect(promisesFor(1, b2)).toBe(2); // own + node 3
    // A promise for another ballot never counts: node 1 got none for b2 and node 2 none for b1.
    expect(promisesFor(0, b2)).toBe(0);
    expect(promisesFor(1, b1)).toBe(0);

    // b1's accept reaches node 3, which promised b2: rejected, carrying b2.
    net.deliver((m) => m.from === 0 && m.to === 2 && m.msg.t === MsgType.Accept);
    const nack = net.inflight.find((m) => m.to === 0 && m.msg.t === MsgType.Nack);
    expect(nack?.msg).toMatchObject({ t: MsgType.Nack, ballot: b1, promised: b2 });
    net.deliver((m) => m === nack);
    // The first rejection is enough: b1's coordinator retries at once (immediate policy) above b2.
    const retry = net.log.filter((m) => m.from === 0 && m.msg.t === MsgType.Prepare).at(-1)?.msg;
    expect(retry?.t).toBe(MsgType.Prepare);
    if (retry?.t !== MsgType.Prepare) throw new Error('no retry');
    expect(retry.ballot).toBeGreaterThan(b2);

    // Node 1's retry is held back (it would pre-empt b2 again): B wins slot 0, then A lands in slot 1.
    net.run((inflight) => Math.max(0, inflight.findIndex((m) => m.from !== 0)), 10_000);
    expect(net.inflight).toEqual([]);
    expect(net.checker.violations).toEqual([]);
    for (const id of [0, 1, 2]) {
      expect(net.replica(id).decided(0)).toBe('B');
      expect(net.replica(id).decided(1)).toBe('A');
    }
  });

  it('a coordinator that learns a vote in phase 1 proposes that value, not its own', () => {
    const net = new ScriptedNet(3, 'immediate');
    net.propose(1, 'B');
    // B is accepted by node 1 itself only (its accepts to 0 and 2 stay in flight).
    net.deliver((m) => m.to === 0 && is(MsgType.Prepare)(m));
    net.deliver((m) => m.to === 1 && is(MsgType.Promise)(m));
    expect(net.replica(1).voteIn(0)?.value).toBe('B');
    net.inflight = net.inflight.filter((m) => m.msg.t !== MsgType.Accept);
    // Node 2 proposes A with a higher ballot, and hears from node 1, which voted for B.
    net.propose(2, 'A');
    net.deliver((m) => m.from === 2 && m.to === 1 && is(MsgType.Prepare)(m));
    net.deliver((m) => m.from === 1 && m.to === 2 && is(MsgType.Promise)(m));
    const accept = net.log.filter((m) => m.from === 2 && m.msg.t === MsgType.Accept).at(-1)?.msg;
    expect(accept).toMatchObject({ t: MsgType.Accept, slot: 0, value: 'B' });
  });
});

describe('duelling proposers', () => {
  /** Adversary: phase-1 traffic always overtakes phase-2 traffic, so each new prepare pre-empts the other's accepts. */
  const phase1First = (inflight: InFlight[]): number => {
    const rank = (m: InFlight): number => (m.msg.t === MsgType.Prepare ? 0 : m.msg.t === MsgType.Promise ? 1 : m.msg.t === MsgType.Nack ? 2 : 3);
    let best = 0;
    for (let i = 1; i < inflight.length; i++) if (rank(inflight[i] as InFlight) < rank(inflight[best] as InFlight)) best = i;
    return best;
  };

  it('with immediate retries, two proposers prevent any decision for as long as the adversary lasts', () => {
    const net = new ScriptedNet(3, 'immediate');
    net.propose(0, 'A');
    net.propose(1, 'B');
    const delivered = net.run(phase1First, 5_000);
    expect(delivered).toBe(5_000); // still going: never quiet
    expect(net.decisions).toEqual([]);
    const ballots = net.log.filter((m) => m.msg.t === MsgType.Prepare).map((m) => (m.msg.t === MsgType.Prepare ? m.msg.ballot : 0));
    // They kept raising ballots: 3,756 prepares with 1,252 distinct ballots, none repeated by its owner.
    expect(ballots).toHaveLength(3756);
    expect(new Set(ballots).size).toBe(1252);
    expect(net.checker.violations).toEqual([]);
  });

  it('decides once one proposer backs off', () => {
    const net = new ScriptedNet(3, 'immediate');
    net.propose(0, 'A');
    net.propose(1, 'B');
    net.run(phase1First, 2_000);
    expect(net.decisions).toEqual([]);
    // Proposer 0 backs off: its messages are held while proposer 1 finishes.
    net.run((inflight) => {
      const i = inflight.findIndex((m) => m.from !== 0);
      return i < 0 ? 0 : i;
    }, 100_000);
    // Proposer 1's B takes slot 0; A, retried by proposer 0 after it, lands in slot 1; every replica learns both.
    // Each coordinator reports every ballot it started for its value: B's 251 in the duel; A's 251 in slot 0
    // (lost to B) plus the 1 that won slot 1. A learner that did not coordinate reports 0.
    expect(net.decisions).toEqual([
      { node: 1, slot: 0, value: 'B', ballots: 251 },
      { node: 0, slot: 0, value: 'B', ballots: 0 },
      { node: 2, slot: 0, value: 'B', ballots: 0 },
      { node: 0, slot: 1, value: 'A', ballots: 252 },
      { node: 1, slot: 1, value: 'A', ballots: 0 },
      { node: 2, slot: 1, value: 'A', ballots: 0 },
    ]);
    expect(net.checker.violations).toEqual([]);
  });
});

describe('forgetting decided slots', () => {
  // Regression (found in review): a promiser that forgot old decided slots answered an open prepare
  // from slot 0 without those votes, and a restarted leader filled them with no-ops that a
  // restarted acceptor (whose learner was empty) accepted: two values chosen in one slot.
  it('a leader never proposes in slots a promiser no longer covers', () => {
    const RETAIN = 2;
    const net = new ScriptedNet(3, 'leader', { retainDecided: RETAIN });
    const down = new Set<number>([0]);
    const cfg = (id: number) => ({ id, nodes: 3, policy: createPolicy(policySpec('leader')), random: new SeededRandom(100 + id).asFunction(), attemptTimeout_ms: 1e9, sync_ms: 1e9, retainDecided: RETAIN });
    const tick = (ids: number[]): void => {
      for (const i of ids) {
        net.replica(i).tick(net.now);
        net.flush(i);
      }
    };
    const pump = (): void => {
      for (let k = 0; k < 100_000 && net.inflight.length > 0; k++) {
        const m = net.inflight.shift() as InFlight;
        if (down.has(m.to) || down.has(m.from)) continue;
        net.replica(m.to).receive(m.from, m.msg, net.now);
        net.flush(m.to);
      }
    };
    // Node 0 is down: node 1 leads and decides 10 values with node 2; both forget the old slots.
    for (const t of [500, 520, 540]) {
      net.now = t;
      tick([1, 2]);
      pump();
    }
    for (let i = 0; i < 10; i++) {
      net.propose(1, `v${i}`);
      pump();
      net.now += 1;
      tick([1, 2]);
      pump();
    }
    expect(net.replica(1).decided(9)).toBe('v9');
    // Node 2 restarts on its file (votes kept, learner empty); node 0 restarts empty and leads (smallest id).
    net.replicas[2] = Replica.start(cfg(2), net.now, net.records[2]);
    net.replicas[0] = Replica.start(cfg(0), net.now, net.records[0]);
    net.checker.recovered(2, net.replica(2));
    down.clear();
    net.now += 20;
    tick([1]);
    const hb = net.inflight.filter((m) => m.from === 1 && m.to === 0);
    net.inflight = net.inflight.filter((m) => !(m.from === 1 && m.to === 0));
    for (const m of hb) {
      net.replica(0).receive(1, m.msg, net.now);
      net.flush(0);
    }
    net.inflight = net.inflight.filter((m) => m.msg.t !== MsgType.LearnRequest);
    tick([0]);
    // Phase 1 with quorum {0, 1}: node 1's promise covers only the slots it still remembers.
    net.deliver((m) => m.from === 0 && m.to === 1 && m.msg.t === MsgType.Prepare);
    const promise = net.inflight.find((m) => m.from === 1 && m.to === 0 && m.msg.t === MsgType.Promise);
    // It covers slots 6 on, with the votes it still holds there (slots 0-5 it has forgotten).
    const vote = (slot: number) => ({ slot, ballot: makeBallot(2, 1), value: `v${slot}` });
    expect(promise?.msg).toEqual({ t: MsgType.Promise, slot: 6, ballot: makeBallot(3, 0), open: true, votes: [vote(6), vote(7), vote(8), vote(9)] });
    net.deliver((m) => m === promise);
    // Everything node 0 sends now reaches node 2, and back.
    net.run((inflight) => Math.max(0, inflight.findIndex((m) => (m.from === 0 && m.to === 2) || (m.from === 2 && m.to === 0))), 1_000);
    expect(net.checker.violations.filter((v) => v.invariant === 'agreement' || v.invariant === 'learned-chosen')).toEqual([]);
    // Node 0 learns slots 6-9 with their values and nothing for the forgotten ones (no snapshot transfer yet).
    expect(Array.from({ length: 11 }, (_, s) => net.replica(0).decided(s))).toEqual([...new Array(6).fill(undefined), 'v6', 'v7', 'v8', 'v9', undefined]);
  });
});
