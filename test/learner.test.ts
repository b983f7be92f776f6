import { describe, expect, it } from 'vitest';
import { Learner } from '../src/paxos/learner.js';

const value = (slot: number): string => `${slot}`.padEnd(100, '.');

describe('the learner holds a bounded number of characters', () => {
  it('past retain_chars it forgets the oldest slots down to half of it', () => {
    const l = new Learner(10_000, false, 1000);
    for (let s = 0; s < 100; s++) expect(l.learn(s, value(s))).toBe(true);
    // 100 characters a slot: at 11 held (1,100 > 1,000) the oldest 6 go (500 left), at slots 10, 16, ..., 94.
    expect(l.forgottenBelow).toBe(90);
    expect(l.firstUndecided).toBe(100);
    expect(l.has(89)).toBe(false);
    expect(l.get(90)).toBe(value(90));
    expect(l.get(99)).toBe(value(99));
    // A forgotten slot is not learned again.
    expect(l.learn(5, value(5))).toBe(false);
  });

  it('never forgets at or above the first undecided slot: decisions past a hole stay', () => {
    const l = new Learner(10_000, false, 1000);
    l.learn(0, value(0));
    for (let s = 2; s <= 30; s++) l.learn(s, value(s));
    expect(l.firstUndecided).toBe(1);
    expect(l.forgottenBelow).toBe(1);
    for (let s = 2; s <= 30; s++) expect(l.get(s)).toBe(value(s));
    // The hole filled: everything below the new frontier may go, down to half the budget.
    l.learn(1, value(1));
    expect(l.firstUndecided).toBe(31);
    expect(l.forgottenBelow).toBe(26);
  });

  it('with snapshots, never forgets slots from the latest durable snapshot on', () => {
    const l = new Learner(10_000, true, 1000);
    for (let s = 0; s < 30; s++) l.learn(s, value(s));
    expect(l.forgottenBelow).toBe(0);
    l.snapshotted(20);
    expect(l.forgottenBelow).toBe(20);
    for (let s = 20; s < 30; s++) expect(l.get(s)).toBe(value(s));
  });

  it('counts what an install drops: the budget holds after a snapshot from a peer', () => {
    const l = new Learner(10_000, false, 1000);
    for (let s = 0; s < 8; s++) l.learn(s, value(s));
    l.install(50);
    expect(l.forgottenBelow).toBe(50);
    // 8 slots dropped by the install; 10 more fit before the budget is passed.
    for (let s = 50; s < 60; s++) l.learn(s, value(s));
    expect(l.forgottenBelow).toBe(50);
    l.learn(60, value(60));
    expect(l.forgottenBelow).toBe(56);
  });

  it('without a character budget only the slot count bounds it', () => {
    const l = new Learner(5, false);
    for (let s = 0; s < 100; s++) l.learn(s, value(s).repeat(100));
    // Amortized: more than 5 slots below frontier - 5 are dropped at once.
    expect(l.forgottenBelow).toBe(90);
  });
});
