/**
 * SlotMap (src/paxos/slot-map.ts), the stable leader's instances and its
 * quorum-decided slots: it must answer exactly as the Map it replaced, with
 * iteration in slot order, under any sequence of sets, deletes and clears,
 * including slots far apart (the cells grow) and a slot reused after delete.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotMap } from '../src/paxos/slot-map.js';

type Op = { k: 'set'; slot: number; v: number } | { k: 'delete'; slot: number } | { k: 'clear' };

describe('SlotMap', () => {
  it('answers get, has, size, keys, values and min exactly as a Map sorted by slot, under any operations', () => {
    const slot = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100_000 }));
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ k: fc.constant('set' as const), slot, v: fc.integer({ min: -50, max: 50 }) }) },
      { weight: 4, arbitrary: fc.record({ k: fc.constant('delete' as const), slot }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('clear' as const) }) },
    );
    fc.assert(
      fc.property(fc.array(op as fc.Arbitrary<Op>, { maxLength: 300 }), (ops) => {
        const sm = new SlotMap<{ v: number }>();
        const m = new Map<number, { v: number }>();
        for (const o of ops) {
          if (o.k === 'set') {
            const entry = { v: o.v };
            sm.set(o.slot, entry);
            m.set(o.slot, entry);
          } else if (o.k === 'delete') expect(sm.delete(o.slot)).toBe(m.delete(o.slot));
          else {
            sm.clear();
            m.clear();
          }
          expect(sm.size).toBe(m.size);
        }
        const sorted = [...m.keys()].sort((a, b) => a - b);
        expect(sm.keys()).toEqual(sorted);
        expect(sm.values()).toEqual(sorted.map((s) => m.get(s)));
        for (const s of [...sorted, 0, 1, 7, 199, 100_000]) {
          expect(sm.has(s)).toBe(m.has(s));
          expect(sm.get(s)).toBe(m.get(s));
        }
        const least = Math.min(...[...m.values()].map((e) => e.v));
        expect(sm.min((e) => e.v)).toBe(m.size === 0 ? Number.POSITIVE_INFINITY : least);
      }),
      { numRuns: 300, seed: 1130 },
    );
  });

  it('a slot that shares a cell with a deleted one reads only its own entry', () => {
    const sm = new SlotMap<string>();
    sm.set(3, 'three');
    sm.delete(3);
    sm.set(3 + 64, 'sixty-seven'); // the same cell at the initial capacity of 64
    expect(sm.get(3)).toBeUndefined();
    expect(sm.has(3)).toBe(false);
    expect(sm.get(67)).toBe('sixty-seven');
    sm.set(3, 'three again'); // both held now: the cells grow
    expect(sm.keys()).toEqual([3, 67]);
    expect(sm.values()).toEqual(['three again', 'sixty-seven']);
  });

  it('shrinks back once a transient wide span is gone: min() and keys() cost the slots held, not the widest span ever seen', () => {
    // The leader's pattern: one slot stays undecided (its accepts lost) while the window of 64 moves on; the
    // sim reaches 4,096 cells at window 64 with swarm faults. The Map this replaced cost O(entries) afterwards.
    const cellsOf = (m: SlotMap<{ at: number }>): number => (m as unknown as { cells: { refs: unknown[][] } }).cells.refs[0]?.length ?? 0;
    const sm = new SlotMap<{ at: number }>();
    const model = new Map<number, { at: number }>();
    const put = (s: number): void => {
      const e = { at: s % 97 };
      sm.set(s, e);
      model.set(s, e);
    };
    const drop = (s: number): void => {
      expect(sm.delete(s)).toBe(true);
      model.delete(s);
    };
    put(0); // stuck
    for (let s = 1; s <= 63; s++) put(s);
    for (let s = 1; s <= 10_000; s++) {
      drop(s);
      put(s + 63);
    }
    expect(cellsOf(sm)).toBeGreaterThanOrEqual(8192);
    drop(0); // decided at last
    for (let s = 10_001; s <= 30_000; s++) {
      drop(s);
      put(s + 63);
    }
    const sorted = [...model.keys()].sort((a, b) => a - b);
    expect(sm.keys()).toEqual(sorted);
    expect(sm.values()).toEqual(sorted.map((s) => model.get(s)));
    expect(sm.min((e) => e.at)).toBe(Math.min(...[...model.values()].map((e) => e.at)));
    expect(cellsOf(sm)).toBeLessThanOrEqual(256);
    // clear() after a wide span starts small again too.
    for (let s = 0; s < 64; s++) sm.set((1 << 20) + s * 4096, { at: s });
    expect(cellsOf(sm)).toBeGreaterThan(256);
    sm.clear();
    expect(sm.size).toBe(0);
    expect(cellsOf(sm)).toBeLessThanOrEqual(256);
    sm.set(5, { at: 1 });
    expect(sm.keys()).toEqual([5]);
  });

  it('while one slot is stuck far behind, size and min are those of the entries, and every entry is found', () => {
    const sm = new SlotMap<{ at: number }>();
    sm.set(0, { at: 500 });
    // A 64-slot window moves 5,000 times past the stuck slot 0.
    for (let s = 1; s <= 5063; s++) {
      sm.set(s, { at: s });
      if (s > 63) sm.delete(s - 63);
    }
    expect(sm.size).toBe(64);
    expect(sm.capacity).toBeGreaterThanOrEqual(4096);
    expect(sm.min((e) => e.at)).toBe(500);
    expect(sm.keys()).toEqual([0, ...Array.from({ length: 63 }, (_, k) => 5001 + k)]);
    sm.delete(0);
    expect(sm.min((e) => e.at)).toBe(5001);
    expect(sm.get(5063)?.at).toBe(5063);
  });
});
