/**
 * SlotWindow (src/paxos/slot-window.ts), the cells behind the acceptor and the
 * learner: a cell reused for slot s + capacity never answers for slot s (the
 * ring-buffer trap the lean hot path had to design against), growth keeps every
 * held slot, and the span bound refuses what peers send far ahead.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Acceptor } from '../src/paxos/acceptor.js';
import { SlotWindow } from '../src/paxos/slot-window.js';

describe('SlotWindow', () => {
  it('a cell that held slot s answers only for s: after s is released and s + capacity takes the cell, s reads empty', () => {
    const w = new SlotWindow<string>(1, 1, 4);
    const c = w.claim(1);
    (w.refs[0] as string[])[c] = 'one';
    w.release(1);
    const c2 = w.claim(5); // 5 & 3 === 1 & 3: the same cell
    expect(c2).toBe(c);
    (w.refs[0] as string[])[c2] = 'five';
    expect(w.cellOf(1)).toBe(-1);
    expect(w.cellOf(5)).toBe(c);
  });

  it('behaves like a Map of slots under any claims, releases and drops, growing as needed', () => {
    type Op = { k: 'claim' | 'release'; slot: number } | { k: 'drop'; slot: number };
    const op = fc.oneof(
      fc.record({ k: fc.constant('claim' as const), slot: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ k: fc.constant('release' as const), slot: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ k: fc.constant('drop' as const), slot: fc.integer({ min: 0, max: 120 }) }),
    );
    fc.assert(
      fc.property(fc.array(op as fc.Arbitrary<Op>, { maxLength: 400 }), (ops) => {
        const w = new SlotWindow<number>(1, 0, 2);
        const m = new Map<number, number>();
        let base = 0;
        for (const o of ops) {
          if (o.k === 'claim') {
            const c = w.claim(o.slot);
            if (o.slot < base) expect(c).toBe(-1);
            else {
              (w.nums[0] as Float64Array)[c] = o.slot * 10;
              m.set(o.slot, o.slot * 10);
            }
          } else if (o.k === 'release') {
            w.release(o.slot);
            m.delete(o.slot);
          } else if (o.slot > base) {
            w.dropBelow(o.slot);
            base = o.slot;
            for (const s of [...m.keys()]) if (s < base) m.delete(s);
          }
        }
        expect(w.slots()).toEqual([...m.keys()].sort((a, b) => a - b));
        for (const [s, v] of m) expect((w.nums[0] as Float64Array)[w.cellOf(s)]).toBe(v);
        expect(w.size).toBe(m.size);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a slot a peer sends beyond the window's span (an acceptor drops it, it does not nack), but replays its own records", () => {
    const a = new Acceptor();
    expect(a.accept(5_000_000, 7, 'far')).toEqual({ ok: 'full' });
    expect(a.prepare(5_000_000, 7, false)).toEqual({ ok: 'full' });
    expect(a.vote(5_000_000)).toBeNull();
    // Our own log is trusted: replaying it holds whatever slot it names.
    a.apply({ k: 'accept', slot: 5_000_000, ballot: 7, value: 'mine' });
    expect(a.vote(5_000_000)).toEqual({ slot: 5_000_000, ballot: 7, value: 'mine' });
  });
});
