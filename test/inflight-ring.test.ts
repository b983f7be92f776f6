import { describe, expect, it } from 'vitest';
import { InflightRing, sequenceIn } from '../src/runtime/inflight-ring.js';

describe("the workload's in-flight ring", () => {
  it('gives each send time back once, by sequence number', () => {
    const r = new InflightRing(4);
    expect(r.add(0, 10)).toBe(true);
    expect(r.add(1, 11)).toBe(true);
    expect(r.size).toBe(2);
    expect(r.take(1)).toBe(11);
    expect(r.take(1)).toBeUndefined();
    expect(r.take(0)).toBe(10);
    expect(r.size).toBe(0);
  });

  it('refuses more than its capacity in flight', () => {
    const r = new InflightRing(3);
    for (let s = 0; s < 3; s++) expect(r.add(s, s)).toBe(true);
    expect(r.add(3, 3)).toBe(false);
    expect(r.size).toBe(3);
  });

  it('forgets a proposal that never came back once one capacity later takes its cell', () => {
    const r = new InflightRing(4);
    r.add(1, 1); // lost: never decided
    for (let s = 2; s < 5; s++) expect(r.take((r.add(s, s), s))).toBe(s);
    expect(r.size).toBe(1);
    expect(r.add(5, 5)).toBe(true); // 5 % 4 === 1 % 4
    expect(r.size).toBe(1);
    expect(r.take(1)).toBeUndefined();
    expect(r.take(5)).toBe(5);
    expect(r.size).toBe(0);
  });
});

describe('sequenceIn', () => {
  const stream = '~w0-Ab3_x9Zq';
  it('reads <stream>.<seq>: from a command of this stream', () => {
    expect(sequenceIn(stream, `${stream}.0:xxxx`)).toBe(0);
    expect(sequenceIn(stream, `${stream}.123456:"xx"`)).toBe(123456);
  });
  it('answers -1 for another stream, a client command, or a malformed id', () => {
    expect(sequenceIn(stream, '~w1-Ab3_x9Zq.5:xx')).toBe(-1);
    expect(sequenceIn(stream, `${stream}0.5:xx`)).toBe(-1);
    expect(sequenceIn(stream, 'V1StGXR8_Z5jdHi6B-myT:set x')).toBe(-1);
    expect(sequenceIn(stream, `${stream}.:xx`)).toBe(-1);
    expect(sequenceIn(stream, `${stream}.12a:xx`)).toBe(-1);
    expect(sequenceIn(stream, `${stream}.12`)).toBe(-1);
    expect(sequenceIn(stream, stream)).toBe(-1);
  });
});
