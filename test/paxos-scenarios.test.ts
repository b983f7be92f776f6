/**
 * Scripted scenarios on the real core, with the test choosing every delivery.
 * Each test cites the protocol rule it checks.
 */
import { describe, expect, it } from 'vitest';
import { makeBallot } from '../src/paxos/ballot.js';
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
    expect(new Set(ballots).size).toBeGreaterThan(100); // they kept raising ballots
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
    expect(net.decisions.length).toBeGreaterThan(0);
    expect(net.replica(1).decided(0)).toBeDefined();
    expect(net.checker.violations).toEqual([]);
  });
});
