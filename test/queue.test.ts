/** KeyedQueue (src/paxos/queue.ts) behaves exactly like a Map used as a FIFO: same order, same answers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../src/paxos/queue.js';

type Op = { k: 'set'; key: number; value: number } | { k: 'delete'; key: number } | { k: 'shift' } | { k: 'shiftKey' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('set' as const), key: fc.integer({ min: 0, max: 20 }), value: fc.integer() }),
  fc.record({ k: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 20 }) }),
  fc.record({ k: fc.constant('shift' as const) }),
  fc.record({ k: fc.constant('shiftKey' as const) }),
);

describe('KeyedQueue', () => {
  it('matches a Map (delete + set moves a key to the back; shift and shiftKey take the oldest) over any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
        const q = new KeyedQueue<number, number>();
        const m = new Map<number, number>();
        for (const o of ops) {
          if (o.k === 'set') {
            m.delete(o.key);
            m.set(o.key, o.value);
            q.set(o.key, o.value);
          } else if (o.k === 'delete') {
            expect(q.delete(o.key)).toBe(m.delete(o.key));
          } else if (m.size > 0) {
            const [key, value] = m.entries().next().value as [number, number];
            m.delete(key);
            if (o.k === 'shift') expect(q.shift()).toEqual([key, value]);
            else expect(q.shiftKey()).toBe(key);
          } else if (o.k === 'shift') expect(() => q.shift()).toThrow('shift on an empty queue');
          else expect(() => q.shiftKey()).toThrow('shift on an empty queue');
          expect(q.size).toBe(m.size);
        }
        expect([...q.ordered()]).toEqual([...m.entries()]);
        expect(q.peek()).toBe(m.keys().next().value);
        for (let key = 0; key <= 20; key++) expect(q.get(key)).toBe(m.get(key));
      }),
      { numRuns: 300 },
    );
  });
});
