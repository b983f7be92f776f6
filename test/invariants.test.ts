/**
 * Every safety invariant the simulator and the model checker rely on can
 * fail: the SafetyChecker is fed the smallest event sequence that breaks each
 * one (and a correct run that breaks none), and must name exactly that
 * invariant. Planted core bugs reach five of them (test/simulation.test.ts,
 * test/check.test.ts); these reach the rest directly. lease-exclusive is the
 * simulator's own check (test/policies.test.ts, "leases").
 */
import { describe, expect, it } from 'vitest';
import { makeBallot } from '../src/paxos/ballot.js';
import { MsgType } from '../src/paxos/messages.js';
import { SafetyChecker } from '../src/verify/invariants.js';

const b1 = makeBallot(1, 0); // node 0's first ballot
const b2 = makeBallot(1, 1); // node 1's, higher

/** Node `from` prepares in slot 0, persisting its round first, as a correct replica does. */
function phase1(c: SafetyChecker, from: number, ballot: number): void {
  c.persisted(from, { k: 'round', round: 1 });
  c.sent(from, { t: MsgType.Prepare, slot: 0, ballot, open: false });
}

/** `by` accepts (value, ballot) in slot 0, persisting it first. */
function vote(c: SafetyChecker, by: number, ballot: number, value: string): void {
  c.persisted(by, { k: 'accept', slot: 0, ballot, value });
  c.sent(by, { t: MsgType.Accepted, slot: 0, ballot });
}

const names = (c: SafetyChecker): string[] => c.violations.map((v) => v.invariant);

describe('the safety invariants can each fail', () => {
  it('a correct run breaks none: prepare, promises, accept, votes, decide, learn', () => {
    const c = new SafetyChecker(3);
    c.proposedValue('x');
    phase1(c, 0, b1);
    for (const n of [0, 1]) {
      c.persisted(n, { k: 'promise', slot: 0, ballot: b1 });
      c.sent(n, { t: MsgType.Promise, slot: 0, ballot: b1, open: false, votes: [] });
    }
    c.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'x' });
    vote(c, 0, b1, 'x');
    vote(c, 1, b1, 'x');
    c.sent(0, { t: MsgType.Decide, slot: 0, value: 'x' });
    for (const n of [0, 1, 2]) c.learnedBy(n, 0, 'x');
    expect(c.violations).toEqual([]);
    expect(c.chosenIn(0)).toBe('x');
  });

  it('promise-monotonic: a promise below one already shown', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    c.sent(2, { t: MsgType.Promise, slot: 0, ballot: b2, open: false, votes: [] });
    c.sent(2, { t: MsgType.Promise, slot: 0, ballot: b1, open: false, votes: [] });
    expect(names(c)).toEqual(['promise-monotonic']);
  });

  it('accept-at-promise: a vote below the promise', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    c.sent(2, { t: MsgType.Promise, slot: 0, ballot: b2, open: false, votes: [] });
    c.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'x' });
    c.sent(2, { t: MsgType.Accepted, slot: 0, ballot: b1 });
    expect(names(c)).toEqual(['accept-at-promise']);
  });

  it('one-value-per-ballot: two values at one ballot, and a ballot used by a node that does not own it', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    c.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'x' });
    c.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'y' });
    c.sent(1, { t: MsgType.Prepare, slot: 0, ballot: b1, open: false });
    expect(names(c)).toEqual(['one-value-per-ballot', 'one-value-per-ballot']);
  });

  it('votes-real: a vote reported that was never cast, and a cast vote hidden', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    c.sent(2, { t: MsgType.Promise, slot: 0, ballot: b1, open: false, votes: [{ slot: 0, ballot: b1, value: 'ghost' }] });
    expect(names(c)).toEqual(['votes-real', 'votes-real']);
    const d = new SafetyChecker(3, { checkPersistence: false });
    d.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'x' });
    d.sent(2, { t: MsgType.Accepted, slot: 0, ballot: b1 });
    d.sent(2, { t: MsgType.Promise, slot: 0, ballot: b2, open: false, votes: [] });
    expect(names(d)).toEqual(['votes-real']);
  });

  it('agreement: a second value chosen in a slot', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    for (const v of ['x', 'y']) c.proposedValue(v);
    c.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'x' });
    for (const n of [0, 1]) c.sent(n, { t: MsgType.Accepted, slot: 0, ballot: b1 });
    c.sent(1, { t: MsgType.Accept, slot: 0, ballot: b2, value: 'y' });
    for (const n of [1, 2]) c.sent(n, { t: MsgType.Accepted, slot: 0, ballot: b2 });
    expect(names(c)).toEqual(['agreement']);
  });

  it('validity: a value chosen that nobody proposed', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    c.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'nobody' });
    for (const n of [0, 1]) c.sent(n, { t: MsgType.Accepted, slot: 0, ballot: b1 });
    expect(names(c)).toEqual(['validity']);
  });

  it('learned-chosen: a replica learns, or a Decide announces, what was not chosen', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    c.learnedBy(2, 0, 'x');
    c.sent(1, { t: MsgType.Decide, slot: 0, value: 'y' });
    expect(names(c)).toEqual(['learned-chosen', 'learned-chosen']);
  });

  it('persist-before-send: a prepare at a round, a promise and a vote shown before they are durable', () => {
    const c = new SafetyChecker(3);
    c.sent(0, { t: MsgType.Prepare, slot: 0, ballot: b1, open: false });
    c.sent(1, { t: MsgType.Promise, slot: 0, ballot: b1, open: false, votes: [] });
    c.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'x' });
    c.sent(2, { t: MsgType.Accepted, slot: 0, ballot: b1 });
    expect(names(c)).toEqual(['persist-before-send', 'persist-before-send', 'persist-before-send', 'persist-before-send']);
  });

  it('ballot-monotonic: a lower prepare after a higher one, and a ballot reused after a restart', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    const b3 = makeBallot(2, 0);
    phase1(c, 0, b3);
    phase1(c, 0, b1);
    expect(names(c)).toEqual(['ballot-monotonic']);
    c.recovered(0, { promisedIn: () => 0, voteIn: () => null });
    phase1(c, 0, b3);
    expect(names(c)).toEqual(['ballot-monotonic', 'ballot-monotonic']);
  });

  it('promise-monotonic and votes-real across a restart: an acceptor that forgot what it showed', () => {
    const c = new SafetyChecker(3, { checkPersistence: false });
    c.sent(0, { t: MsgType.Accept, slot: 0, ballot: b1, value: 'x' });
    c.sent(2, { t: MsgType.Promise, slot: 0, ballot: b1, open: false, votes: [] });
    c.sent(2, { t: MsgType.Accepted, slot: 0, ballot: b1 });
    c.recovered(2, { promisedIn: () => 0, voteIn: () => null });
    expect(names(c)).toEqual(['promise-monotonic', 'votes-real']);
  });
});
