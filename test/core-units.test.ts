/** Unit tests of the core's small parts: ballots, the wire codec (the validation boundary), the acceptor. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Acceptor } from '../src/paxos/acceptor.js';
import { MAX_NODES, MAX_ROUND, makeBallot, nextBallot, nodeOf, roundOf } from '../src/paxos/ballot.js';
import { decode, encode } from '../src/paxos/codec.js';
import { MsgType, type Message } from '../src/paxos/messages.js';

describe('ballots', () => {
  const node = fc.integer({ min: 0, max: MAX_NODES - 1 });
  const round = fc.integer({ min: 1, max: 1_000_000 });

  it('order by round first, then node id', () => {
    fc.assert(
      fc.property(round, node, round, node, (r1, n1, r2, n2) => {
        const cmp = Math.sign(makeBallot(r1, n1) - makeBallot(r2, n2));
        const expected = r1 !== r2 ? Math.sign(r1 - r2) : Math.sign(n1 - n2);
        expect(cmp).toBe(expected);
      }),
    );
  });

  it('round trip through round and node', () => {
    fc.assert(fc.property(round, node, (r, n) => {
      const b = makeBallot(r, n);
      expect(roundOf(b)).toBe(r);
      expect(nodeOf(b)).toBe(n);
    }));
  });

  it('nextBallot is the owner\'s smallest ballot above the one seen: unique across nodes', () => {
    fc.assert(
      fc.property(node, round, node, (self, r, other) => {
        const seen = makeBallot(r, other);
        const b = nextBallot(self, seen);
        expect(b).toBeGreaterThan(seen);
        expect(nodeOf(b)).toBe(self);
        // Nothing of ours lies strictly between.
        if (roundOf(b) > 1) expect(makeBallot(roundOf(b) - 1, self)).toBeLessThanOrEqual(seen);
      }),
    );
  });

  it('rejects rounds and ids that would break the encoding', () => {
    expect(() => makeBallot(0, 1)).toThrow(RangeError);
    expect(() => makeBallot(MAX_ROUND + 1, 1)).toThrow(RangeError);
    expect(() => makeBallot(1, MAX_NODES)).toThrow(RangeError);
    expect(Number.isSafeInteger(makeBallot(MAX_ROUND, MAX_NODES - 1))).toBe(true);
  });
});

describe('codec', () => {
  const samples: Message[] = [
    { t: MsgType.Prepare, slot: 3, ballot: 65537, open: false },
    { t: MsgType.Prepare, slot: 0, ballot: 65537, open: true },
    { t: MsgType.Promise, slot: 3, ballot: 65537, open: true, votes: [{ slot: 3, ballot: 65536, value: 'a' }, { slot: 9, ballot: 65538, value: '' }] },
    { t: MsgType.Accept, slot: 1, ballot: 2, value: 'x'.repeat(100) },
    { t: MsgType.Accepted, slot: 1, ballot: 2 },
    { t: MsgType.Nack, slot: 1, ballot: 2, promised: 9 },
    { t: MsgType.Decide, slot: 1, value: 'v' },
    { t: MsgType.Forward, value: 'v' },
    { t: MsgType.Heartbeat, ballot: 0, decidedUpTo: 7 },
    { t: MsgType.LeaseRequest, ballot: 65536, seq: 4 },
    { t: MsgType.LeaseGrant, ballot: 65536, seq: 4 },
    { t: MsgType.LearnRequest, slot: 12 },
    { t: MsgType.Commit, ballot: 65537, from: 3, to: 70 },
  ];

  it('round-trips every message type as a flat tuple of numbers and strings', () => {
    for (const m of samples) {
      const w = encode(m);
      expect(w.every((x) => typeof x === 'number' || typeof x === 'string')).toBe(true);
      expect(decode(structuredClone(w))).toEqual(m);
    }
  });

  it('turns any malformed input into a reason, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.array(fc.oneof(fc.integer({ min: -2, max: 12 }), fc.double(), fc.string(), fc.constant(null)))), (junk) => {
        const r = decode(junk);
        if (typeof r !== 'string') expect(decode(encode(r))).toEqual(r); // valid by chance: then it is a real message
      }),
    );
    expect(decode('x')).toMatch(/array/);
    expect(decode([99])).toMatch(/unknown tag/);
    expect(decode([MsgType.Accept, 1, -5, 'v'])).toMatch(/accept/);
    expect(decode([MsgType.Prepare, 1.5, 2, 0])).toMatch(/prepare/);
    expect(decode([MsgType.Promise, 1, 2, 0, 1])).toMatch(/promise/);
  });
});

describe('acceptor', () => {
  it('promises only at or above its promise (the same prepare again gets the same promise), and reports its vote', () => {
    const a = new Acceptor();
    expect(a.prepare(0, 10, false)).toMatchObject({ ok: true, votes: [] });
    expect(a.prepare(0, 10, false)).toMatchObject({ ok: true, votes: [] });
    expect(a.prepare(0, 9, false)).toEqual({ ok: false, promised: 10 });
    expect(a.accept(0, 10, 'v')).toMatchObject({ ok: true });
    expect(a.prepare(0, 11, false)).toMatchObject({ ok: true, votes: [{ slot: 0, ballot: 10, value: 'v' }] });
    // Accepts at or above the promise only.
    expect(a.accept(0, 10, 'w')).toEqual({ ok: false, promised: 11 });
    expect(a.accept(0, 12, 'w')).toMatchObject({ ok: true });
    expect(a.promisedIn(0)).toBe(12);
  });

  it('an open prepare covers every slot, reports votes from its slot on, and never lowers a slot promise', () => {
    const a = new Acceptor();
    a.accept(2, 5, 'two');
    a.accept(7, 6, 'seven');
    a.prepare(9, 50, false);
    expect(a.prepare(3, 40, true)).toEqual({ ok: false, promised: 50 }); // slot 9 promised 50 > 40
    const r = a.prepare(3, 60, true);
    expect(r).toMatchObject({ ok: true, votes: [{ slot: 7, ballot: 6, value: 'seven' }] });
    expect(a.promisedIn(100)).toBe(60);
    expect(a.promisedIn(2)).toBe(60);
    expect(a.accept(100, 59, 'x')).toEqual({ ok: false, promised: 60 });
  });

  it('replaying its records restores the same promises and votes', () => {
    const a = new Acceptor();
    const records = [];
    for (const [slot, b] of [[0, 3], [1, 4], [0, 7]] as const) {
      const p = a.prepare(slot, b, false);
      if (p.ok === true) records.push(p.record);
      const acc = a.accept(slot, b, `v${b}`);
      if (acc.ok === true) records.push(acc.record);
    }
    const open = a.prepare(0, 100, true);
    if (open.ok === true) records.push(open.record);
    const b = new Acceptor();
    for (const r of records) b.apply(r);
    for (const slot of [0, 1, 5]) {
      expect(b.promisedIn(slot)).toBe(a.promisedIn(slot));
      expect(b.vote(slot)).toEqual(a.vote(slot));
    }
  });
});
