/**
 * seeded property tests of the log format version 3
 * codec (src/storage/record-codec.ts): encode -> decode gives back exactly the
 * records given, for random turns that make runs, break them and mix kinds;
 * decodeRecords on damaged bodies (every single-byte flip, every truncation,
 * random byte overwrites, hostile count fields) never throws, stays bounded,
 * and never yields a slot or ballot outside the safe integers.
 */
import { describe, expect, it } from 'vitest';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { Scratch, decodeRecords, encodeRecords } from '../src/storage/record-codec.js';

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['', 'a', 'é', '€', '😀', '\uD800', '\uDFFF', '\uDBFF\uDFFF', '\u0000', '\uFEFF', '\uFFFD', 'x'.repeat(40), '\r\n', '\uDC00\uD800'];

function value(rnd: () => number): string {
  const r = rnd();
  if (r < 0.1) return '';
  if (r < 0.13) return 'L'.repeat(1 + Math.floor(rnd() * 200_000)); // very long
  if (r < 0.2) {
    // random UTF-16 code units, lone surrogates likely
    let s = '';
    const n = Math.floor(rnd() * 12);
    for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(rnd() * 0x10000));
    return s;
  }
  let s = '';
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(rnd() * PIECES.length)] as string;
  return s;
}

const SAFE_EDGE = [0, 1, 2, Number.MAX_SAFE_INTEGER - 70, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];

/** A random turn: mostly accepts, often consecutive at one ballot, with gaps, repeats, ballot changes and other kinds. */
function turn(rnd: () => number): PersistRecord[] {
  const out: PersistRecord[] = [];
  const n = 1 + Math.floor(rnd() * (rnd() < 0.1 ? 300 : 24));
  let slot = rnd() < 0.05 ? (SAFE_EDGE[Math.floor(rnd() * SAFE_EDGE.length)] as number) : Math.floor(rnd() * 1e6);
  let ballot = Math.floor(rnd() * 1e9);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.06) out.push({ k: 'promise', slot: Math.floor(rnd() * 1e6), ballot });
    else if (r < 0.09) out.push({ k: 'floor', ballot });
    else if (r < 0.11) out.push({ k: 'round', round: Math.floor(rnd() * 1e6) });
    else if (r < 0.13) out.push({ k: 'mark', below: Math.floor(rnd() * 1e6) });
    else {
      const step = rnd();
      if (step < 0.75) slot += 1; // consecutive: a run
      else if (step < 0.82) slot += 0; // the same slot again
      else if (step < 0.9) slot += 2 + Math.floor(rnd() * 5); // a gap
      else slot = Math.max(0, slot - 1 - Math.floor(rnd() * 5)); // lower
      if (!Number.isSafeInteger(slot)) slot = Number.MAX_SAFE_INTEGER;
      if (rnd() < 0.08) ballot += 1 + Math.floor(rnd() * 3); // a ballot change
      out.push({ k: 'accept', slot, ballot, value: value(rnd) });
    }
  }
  return out;
}

function roundTrip(records: readonly PersistRecord[], scratch: Scratch): { back: PersistRecord[]; why: string | null; count: number } {
  const { end, records: count } = encodeRecords(records, scratch, 0);
  const body = Buffer.from(scratch.buf.subarray(0, end));
  const back: PersistRecord[] = [];
  const why = decodeRecords(body, count, back, 3);
  return { back, why, count };
}

/** Exact equality of values (code unit by code unit), slots and ballots (Object.is). */
function sameRecords(a: readonly PersistRecord[], b: readonly PersistRecord[]): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Record<string, unknown>, y = b[i] as Record<string, unknown>;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return `record ${i}: keys`;
    for (const k of keys) if (!Object.is(x[k], y[k])) return `record ${i}.${k}: ${JSON.stringify(x[k])} vs ${JSON.stringify(y[k])}`;
  }
  return null;
}

describe('encode -> decode is the identity (seeded)', () => {
  it('5,000 random turns round-trip exactly, and every batch count matches the records it holds', () => {
    const scratch = new Scratch(1024);
    let runs = 0;
    for (let seed = 1; seed <= 5000; seed++) {
      const rnd = prng(seed);
      const records = turn(rnd);
      const { back, why, count } = roundTrip(records, scratch);
      if (why !== null) throw new Error(`seed ${seed}: decode refused: ${why}`);
      const diff = sameRecords(records, back);
      if (diff !== null) throw new Error(`seed ${seed}: ${diff}`);
      expect(count).toBeLessThanOrEqual(records.length);
      if (count < records.length) runs++;
      scratch.shrink();
    }
    expect(runs).toBeGreaterThan(2500); // most turns held a run
  });

  it('edge turns: all empty values, all astral, a run ending at MAX_SAFE_INTEGER, a run of 100,000 votes, a BOM', () => {
    const scratch = new Scratch(64);
    const top = Number.MAX_SAFE_INTEGER;
    const cases: PersistRecord[][] = [
      Array.from({ length: 50 }, (_, i) => ({ k: 'accept', slot: i, ballot: 7, value: '' })),
      Array.from({ length: 50 }, (_, i) => ({ k: 'accept', slot: i, ballot: 7, value: '😀'.repeat(i) })),
      Array.from({ length: 3 }, (_, i) => ({ k: 'accept', slot: top - 2 + i, ballot: top, value: 'v' })),
      Array.from({ length: 100_000 }, (_, i) => ({ k: 'accept', slot: i, ballot: 1, value: String(i) })),
      [{ k: 'accept', slot: 1, ballot: 1, value: '\uFEFFbom' }, { k: 'accept', slot: 2, ballot: 1, value: '\uFEFF' }],
      // a lone surrogate between two runs, then a run again
      [1, 2, 3, 4, 5].map((s) => ({ k: 'accept', slot: s, ballot: 9, value: s === 3 ? '\uD83D' : `v${s}` })),
    ];
    for (const records of cases) {
      const { back, why } = roundTrip(records, scratch);
      expect(why).toBe(null);
      expect(sameRecords(records, back)).toBe(null);
    }
  });
});

/** A body holding runs (and every other kind), for the damage tests. */
function runBody(): { body: Buffer; count: number; records: PersistRecord[] } {
  const records: PersistRecord[] = [
    { k: 'promise', slot: 3, ballot: 65_537 },
    ...Array.from({ length: 5 }, (_, i): PersistRecord => ({ k: 'accept', slot: 10 + i, ballot: 65_537, value: ['', 'é', '😀x', 'abc', 'zz'][i] as string })),
    { k: 'accept', slot: 15, ballot: 65_537, value: '\uD800' },
    { k: 'floor', ballot: 65_538 },
    ...Array.from({ length: 3 }, (_, i): PersistRecord => ({ k: 'accept', slot: 20 + i, ballot: 65_538, value: `w${i}` })),
    { k: 'mark', below: 2 },
    { k: 'round', round: 4 },
  ];
  const s = new Scratch(64);
  const { end, records: count } = encodeRecords(records, s, 0);
  return { body: Buffer.from(s.buf.subarray(0, end)), count, records };
}

/** decodeRecords must return (not throw), and anything it pushed must be well formed. */
function decodeSafely(body: Buffer, count: number): { why: string | null; out: PersistRecord[] } {
  const out: PersistRecord[] = [];
  const why = decodeRecords(body, count, out, 3);
  for (const r of out) {
    for (const [k, v] of Object.entries(r)) {
      if (k === 'k' || k === 'value') continue;
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`decoded ${JSON.stringify(r)}: ${k} not a safe integer >= 0`);
    }
  }
  // Never more records than bytes could hold: a vote takes at least 4 bytes.
  expect(out.length).toBeLessThanOrEqual(body.length / 4 + 1);
  return { why, out };
}

describe('decodeRecords on damaged bodies holding runs', () => {
  it('every truncation is refused (a clean reason, nothing thrown)', () => {
    const { body, count } = runBody();
    expect(decodeSafely(body, count).why).toBe(null);
    for (let len = 0; len < body.length; len++) {
      const { why } = decodeSafely(body.subarray(0, len), count);
      expect(why, `truncated to ${len}`).toEqual(expect.any(String));
    }
  });

  it('every single-byte flip (each of 8 bits, and 0x00 / 0xFF) never throws; a flip of a tag, length or count byte is refused', () => {
    const { body, count, records } = runBody();
    let refused = 0, decodedDifferent = 0;
    for (let at = 0; at < body.length; at++) {
      const variants = [0x00, 0xff, ...Array.from({ length: 8 }, (_, b) => (body[at] as number) ^ (1 << b))];
      for (const v of variants) {
        if (v === body[at]) continue;
        const bad = Buffer.from(body);
        bad[at] = v;
        const { why, out } = decodeSafely(bad, count);
        if (why !== null) refused++;
        else if (sameRecords(out, records) !== null) decodedDifferent++; // a value or number byte: left to the body checksum
      }
    }
    // Both happen: the decoder is a structure check, the body CRC catches the rest (file.ts).
    expect(refused).toBeGreaterThan(0);
    expect(decodedDifferent).toBeGreaterThan(0);
  });

  it('hostile counts and random overwrites: bounded time, no throw', () => {
    const { body } = runBody();
    const t0 = performance.now();
    for (const count of [0, 1, 2, 0x7fff_ffff, 0xffff_ffff, Number.MAX_SAFE_INTEGER]) decodeSafely(body, count);
    // A run header claiming 0xFFFFFFFF votes, and one claiming exactly what fits in 4-byte empty votes.
    const head = Buffer.alloc(21);
    head[0] = 7;
    head.writeDoubleLE(0, 1);
    head.writeDoubleLE(1, 9);
    for (const votes of [0xffff_ffff, 250_000, 250_001]) {
      head.writeUInt32LE(votes, 17);
      const big = Buffer.concat([head, Buffer.alloc(1_000_000)]); // 250,000 empty votes' worth of zeros
      const { why, out } = decodeSafely(big, 1);
      if (votes === 250_000) {
        expect(why).toBe(null);
        expect(out.length).toBe(250_000);
      } else expect(why).toEqual(expect.any(String));
    }
    const rnd = prng(99);
    for (let i = 0; i < 20_000; i++) {
      const bad = Buffer.from(body);
      const hits = 1 + Math.floor(rnd() * 4);
      for (let h = 0; h < hits; h++) bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256);
      decodeSafely(bad.subarray(0, Math.floor(rnd() * (bad.length + 1))), 1 + Math.floor(rnd() * 20));
    }
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('a run in a version 1 or 2 body is an unknown kind; a run slot or ballot that is not a safe integer is refused', () => {
    const { body, count } = runBody();
    for (const version of [1, 2]) expect(decodeRecords(body, count, [], version)).toMatch(/unknown record kind 7/);
    const run = Buffer.alloc(21 + 8);
    run[0] = 7;
    run.writeUInt32LE(2, 17);
    for (const [slot, ballot] of [[-1, 1], [1.5, 1], [2 ** 53, 1], [Number.NaN, 1], [1, -1], [1, Infinity], [1, 0.5]] as const) {
      run.writeDoubleLE(slot, 1);
      run.writeDoubleLE(ballot, 9);
      const out: PersistRecord[] = [];
      expect(decodeRecords(run, 1, out, 3)).toEqual(expect.any(String));
      expect(out).toEqual([]);
    }
  });
});
