/**
 * (Review of 38af080.) RUN_MAX bounds one run frame (5 elements stand for at
 * most 4,096 tuples) but nothing bounded an envelope: 1,000 such frames, 5,000
 * elements (40 KB), expanded to 4,096,000 tuples, each a new array, in one
 * synchronous forEachTuple (tens of ms; a 4 MB envelope took seconds), while
 * the old framing gave at most one tuple per 2 elements and a mailbox keeps
 * 65,536 by default anyway. An envelope now stands for MAX_ENVELOPE_TUPLES at
 * most: the frame that would pass it is refused with a reason, after the
 * tuples before it; a sender's outbox cannot be built to post more.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ENVELOPE_TUPLES, Outbox, RUN_MAX, forEachTuple } from '../src/runtime/transport.js';

describe('an envelope stands for a bounded number of tuples', () => {
  it('1,000 run frames of RUN_MAX (5,000 elements): the tuples up to the bound are handed on, then a one-line reason', () => {
    const env: number[] = [];
    for (let f = 0; f < 1000; f++) env.push(-RUN_MAX, 3, 3, f * RUN_MAX, 65_537);
    let n = 0;
    let last: unknown[] = [];
    const err = forEachTuple(env, (t) => {
      n++;
      last = t;
    });
    expect(n).toBeLessThanOrEqual(65_536);
    expect(MAX_ENVELOPE_TUPLES).toBe(65_536);
    expect(n).toBe(MAX_ENVELOPE_TUPLES); // 16 whole frames
    expect(last).toEqual([3, n - 1, 65_537]);
    expect(err).toMatch(/^too many tuples at 80$/);
  });

  it('plain frames count too: one past the bound is refused, the bound itself is not', () => {
    const env: number[] = [];
    for (let i = 0; i < MAX_ENVELOPE_TUPLES; i++) env.push(1, i);
    let n = 0;
    expect(forEachTuple(env, () => void n++)).toBeNull();
    expect(n).toBe(MAX_ENVELOPE_TUPLES);
    env.push(1, -1);
    n = 0;
    expect(forEachTuple(env, () => void n++)).toBe(`too many tuples at ${2 * MAX_ENVELOPE_TUPLES}`);
    expect(n).toBe(MAX_ENVELOPE_TUPLES);
  });

  it('a run that would cross the bound is refused whole', () => {
    const env: (number | string)[] = [];
    for (let i = 0; i < MAX_ENVELOPE_TUPLES - 2; i++) env.push(1, i);
    env.push(-3, 3, 4, 0, 9);
    let n = 0;
    expect(forEachTuple(env, () => void n++)).toBe(`too many tuples at ${2 * (MAX_ENVELOPE_TUPLES - 2)}`);
    expect(n).toBe(MAX_ENVELOPE_TUPLES - 2);
  });

  it('an outbox posts at most the bound: a larger maxBatch is refused when it is built', () => {
    expect(() => new Outbox(2, MAX_ENVELOPE_TUPLES + 1, () => true)).toThrow(RangeError);
    expect(() => new Outbox(2, MAX_ENVELOPE_TUPLES, () => true)).not.toThrow();
  });
});
