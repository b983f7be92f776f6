/**
 * (Review of 38af080.) A run's i-th second field is rebuilt as `s + i`, which
 * is never -0; so a tuple whose second field is -0 must not extend a run even
 * though `-0 === -1 + 1`. Sent [f0, -1, f2] then [f0, -0, f2], the receiver
 * got back [f0, 0, f2].
 */
import { describe, expect, it } from 'vitest';
import { Outbox, forEachTuple, type Envelope } from '../src/runtime/transport.js';

function roundTrip(tuples: readonly (readonly (number | string)[])[], reuse: boolean): unknown[][] {
  const got: unknown[][] = [];
  const o = new Outbox(2, 1024, (_to, env: Envelope) => (forEachTuple([...env], (t) => void got.push(t)), true), reuse);
  for (const t of tuples) o.add(1, t);
  o.flush();
  return got;
}

describe('a second field of -0 comes back as -0', () => {
  for (const reuse of [false, true]) {
    it(`after -1 (a lone frame would become a run), reuse ${reuse}`, () => {
      const got = roundTrip([[3, -1, 7], [3, -0, 7]], reuse);
      expect(got).toHaveLength(2);
      expect(Object.is(got[1]?.[1], -0), JSON.stringify(got)).toBe(true);
    });
    it(`after a run ending at -1, reuse ${reuse}`, () => {
      const got = roundTrip([[3, -3, 7, 'a'], [3, -2, 7, 'b'], [3, -1, 7, 'c'], [3, -0, 7, 'd'], [3, 1, 7, 'e']], reuse);
      expect(got.map((t) => t[3])).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(Object.is(got[3]?.[1], -0)).toBe(true);
      expect(got[4]?.[1]).toBe(1);
    });
  }
});
