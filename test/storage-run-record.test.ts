/**
 * The run record of log format version 3 (src/storage/record-codec.ts): the
 * votes of one append at one ballot in consecutive slots go as one record,
 * and come back as the same accept records in the same order; a lone vote is
 * encoded as before; a version-2 log is read and rewritten as version 3; a
 * run where it cannot be (a version-2 log) or that does not fit its body is
 * refused as corruption.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { readLog } from '../src/storage/index.js';
import { decodeRecords } from '../src/storage/record-codec.js';
import { expectRefused, handMadeBatch, noSyncFs, openLog, preRunLog, tmpDir, withVersion, writeLog } from './support/storage-files.js';

const B = 65_537;
const vote = (slot: number, ballot: number, value: string): PersistRecord => ({ k: 'accept', slot, ballot, value });
const LONE_SURROGATE = 'a\uD800b';

/** The batch at `start` in `bytes`: its header's record count and its body. */
function batchAt(bytes: Buffer, start: number): { count: number; body: Buffer } {
  const body_bytes = bytes.readUInt32LE(start + 16);
  return { count: bytes.readUInt32LE(start + 20), body: bytes.subarray(start + 24, start + 24 + body_bytes) };
}

/** The tags of the records in `body`, walked by the layout in record-codec.ts (a check of the encoding, not of the decoder). */
function tagsOf(body: Buffer): number[] {
  const tags: number[] = [];
  for (let p = 0; p < body.length; ) {
    const tag = body[p] as number;
    tags.push(tag);
    if (tag === 1) p += 17;
    else if (tag === 3 || tag === 5) p += 21 + body.readUInt32LE(p + 17);
    else if (tag === 7) {
      const votes = body.readUInt32LE(p + 17);
      p += 21;
      for (let k = 0; k < votes; k++) p += 4 + body.readUInt32LE(p);
    } else p += 9;
  }
  return tags;
}

/** Today's (and version 2's) single accept: tag 3, slot f64, ballot f64, u32 length, UTF-8 value. */
function singleAccept(slot: number, ballot: number, value: string): Buffer {
  const v = Buffer.from(value, 'utf8');
  const b = Buffer.alloc(21 + v.length);
  b[0] = 3;
  b.writeDoubleLE(slot, 1);
  b.writeDoubleLE(ballot, 9);
  b.writeUInt32LE(v.length, 17);
  v.copy(b, 21);
  return b;
}

/** A run record's bytes: tag 7, first slot, ballot, `votes` (which may lie), then each value with its length. */
function runRecord(slot: number, ballot: number, votes: number, values: readonly string[]): Buffer {
  const head = Buffer.alloc(21);
  head[0] = 7;
  head.writeDoubleLE(slot, 1);
  head.writeDoubleLE(ballot, 9);
  head.writeUInt32LE(votes, 17);
  const parts = values.map((v) => {
    const bytes = Buffer.from(v, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(bytes.length, 0);
    return Buffer.concat([len, bytes]);
  });
  return Buffer.concat([head, ...parts]);
}


describe('round trip', () => {
  it('64 consecutive votes at one ballot are one record in their batch, and decode to the 64 votes', () => {
    const dir = tmpDir();
    const values = Array.from({ length: 64 }, (_, i) => `value-${i}:é`);
    const votes = values.map((v, i) => vote(1000 + i, B, v));
    const log = writeLog(dir, [votes]);
    const { count, body } = batchAt(log.bytes, log.starts[0] as number);
    expect(count).toBe(1);
    expect(tagsOf(body)).toEqual([7]);
    // The run's header, then 4 bytes of length per vote besides its value.
    const valueBytes = values.reduce((n, v) => n + Buffer.byteLength(v, 'utf8'), 0);
    expect(body.length).toBe(21 + 64 * 4 + valueBytes);
    expect(readLog(log.bytes).records).toEqual(votes);
    const s = openLog(dir, 0);
    expect(s.load()).toEqual(votes);
    s.close();
  });

  it('a turn of every kind: runs break at a ballot change, a slot gap, a lower slot, a repeated slot, another kind, and a lone surrogate', () => {
    const turn: PersistRecord[] = [
      { k: 'promise', slot: 9, ballot: 2 * B },
      { k: 'floor', ballot: B },
      vote(10, B, 'a'), vote(11, B, 'b'), vote(12, B, 'c'), // run of 3
      vote(13, 2 * B, 'd'), vote(14, 2 * B, 'é€😀'), // another ballot: run of 2
      vote(16, 2 * B, 'f'), // after a gap; lone, as the next one needs UTF-16
      vote(17, 2 * B, LONE_SURROGATE), // tag 5
      vote(18, 2 * B, 'g'), vote(19, 2 * B, ''), // run of 2 (an empty value too)
      vote(5, 2 * B, 'i'), // a lower slot: lone
      { k: 'round', round: 3 },
      vote(6, 2 * B, 'k'), // after another kind: lone
      vote(20, 2 * B, 'x'), vote(20, 2 * B, 'y'), // the same slot twice: two lone votes
    ];
    const log = writeLog(tmpDir(), [turn]);
    const { count, body } = batchAt(log.bytes, log.starts[0] as number);
    expect(tagsOf(body)).toEqual([1, 2, 7, 7, 3, 5, 7, 3, 4, 3, 3, 3]);
    expect(count).toBe(12);
    expect(readLog(log.bytes).records).toEqual(turn);
  });

  it('a run of 1 is byte for byte the single accept record of versions 1 and 2', () => {
    const lone = vote(7, B, 'only-é');
    const log = writeLog(tmpDir(), [[lone], [vote(1, B, 'p'), { k: 'round', round: 1 }, vote(2, B, 'q')]]);
    const first = batchAt(log.bytes, log.starts[0] as number);
    expect(first.count).toBe(1);
    expect(first.body.equals(singleAccept(7, B, 'only-é'))).toBe(true);
    const second = batchAt(log.bytes, log.starts[1] as number);
    expect(second.count).toBe(3);
    expect(tagsOf(second.body)).toEqual([3, 4, 3]);
    expect(second.body.subarray(0, 22).equals(singleAccept(1, B, 'p'))).toBe(true);
    // And a version-2 build's encoding of the same batch is the same bytes.
    expect(preRunLog([[lone]], 2).subarray(40).equals(log.bytes.subarray(40, log.starts[1]))).toBe(true);
  });

  it('fsync always (one batch per record) writes no runs', () => {
    const dir = tmpDir();
    const votes = Array.from({ length: 4 }, (_, i) => vote(i, B, `v${i}`));
    const s = openLog(dir, 0, 'always', { fs: noSyncFs });
    s.append(votes);
    s.close();
    const r = readLog(readFileSync(s.path));
    expect(r.batches).toBe(4);
    expect(r.records).toEqual(votes);
  });
});

describe('versions', () => {
  it('a version-2 log is read, rewritten as version 3 before the first append, and appended to, every record intact', () => {
    const dir = tmpDir();
    const old: PersistRecord[][] = [
      [{ k: 'round', round: 1 }, { k: 'promise', slot: 0, ballot: B }],
      Array.from({ length: 8 }, (_, i) => vote(i, B, `old-${i}`)),
      [{ k: 'mark', below: 0 }, vote(8, B, LONE_SURROGATE), vote(9, B, 'z')],
    ];
    const path = writeLog(dir, []).path;
    const v2 = preRunLog(old, 2);
    writeFileSync(path, v2);
    const before = readLog(v2);
    expect(before.version).toBe(2);
    expect(before.records).toEqual(old.flat());
    // 8 votes were 8 records in version 2.
    expect(batchAt(v2, 40 + 24 + 9 + 17).count).toBe(8);
    const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
    expect(s.load()).toEqual(old.flat());
    expect(readLog(readFileSync(path)).version).toBe(3);
    const added = Array.from({ length: 4 }, (_, i) => vote(10 + i, B, `new-${i}`));
    s.append(added);
    s.close();
    const after = readLog(readFileSync(path));
    expect(after.version).toBe(3);
    expect(after.records).toEqual([...old.flat(), ...added]);
    // Batches 0-2 of version 2, the segment (3), the append (4).
    expect(after.next_seq).toBe(5);
    // The rewrite coalesced the old votes too: the segment batch holds fewer records than votes.
    const segment = batchAt(readFileSync(path), 40);
    expect(tagsOf(segment.body)).toEqual([4, 1, 7, 6, 5, 3]);
    const again = openLog(dir, 0, 'batch', { fs: noSyncFs });
    expect(again.load()).toEqual([...old.flat(), ...added]);
    again.close();
  });

  it('a run in a version-2 log is an unknown record kind there: refused as corruption, naming file and offset', () => {
    const dir = tmpDir();
    const log = writeLog(dir, [[{ k: 'round', round: 1 }], Array.from({ length: 3 }, (_, i) => vote(i, B, `v${i}`))]);
    const v2 = Buffer.concat([withVersion(log.bytes.subarray(0, 40), 2), log.bytes.subarray(40)]);
    const e = expectRefused(dir, log, v2, (log.starts[1] as number) + 24);
    expect(e.message).toContain('batch 1 passes its checksum but does not decode: record 0: unknown record kind 7');
  });
});

describe('a run that does not fit is corruption', () => {
  /** A valid log of 2 batches, then a hand-made batch 2 holding `body` as `count` records. */
  function refuseBody(body: Buffer, count = 1): string {
    const dir = tmpDir();
    const log = writeLog(dir, [[{ k: 'round', round: 1 }], [vote(0, B, 'v')]]);
    const last = log.starts[2] as number;
    const e = expectRefused(dir, log, Buffer.concat([log.bytes, handMadeBatch(2, body, count)]), last + 24);
    const prefix = 'batch 2 passes its checksum but does not decode: ';
    expect(e.message).toContain(prefix);
    return (e.message.split(prefix)[1] as string).replace(/; refusing to start \(nothing was cut\)$/, '');
  }

  it('a run of 0 or 1 votes', () => {
    expect(refuseBody(runRecord(1, B, 0, []))).toBe('record 0: a run of 0 votes (a run holds at least 2)');
    expect(refuseBody(runRecord(1, B, 1, ['a']))).toBe('record 0: a run of 1 votes (a run holds at least 2)');
  });

  it('a value whose length runs past the body, and a vote whose length field does', () => {
    const long = runRecord(1, B, 2, ['a', 'b']);
    long.writeUInt32LE(2, 21 + 5); // the second value claims 2 bytes, 1 is there
    expect(refuseBody(long)).toBe('record 0: vote 1 of its run of 2: a value of 2 bytes runs past the body');
    const cut = runRecord(1, B, 3, ['a', 'b', '']).subarray(0, 21 + 5 + 5 + 2); // 2 bytes of the third length field
    expect(refuseBody(cut)).toBe('record 0: vote 2 of its run of 3 runs past the body');
  });

  it('a count far beyond the body is refused before the loop, pushing nothing', () => {
    const huge = runRecord(1, B, 0xffff_ffff, ['a', 'b']);
    expect(refuseBody(huge)).toBe(`record 0: a run of ${0xffff_ffff} votes cannot fit in the 10 bytes after its header`);
    const out: PersistRecord[] = [];
    expect(decodeRecords(huge, 1, out, 3)).toContain('cannot fit');
    expect(out).toEqual([]);
    expect(refuseBody(runRecord(1, B, 4, ['a', 'b']))).toBe('record 0: a run of 4 votes cannot fit in the 10 bytes after its header');
  });

  it('a run whose last slot is past the safe integers, and a header cut short', () => {
    const top = Number.MAX_SAFE_INTEGER;
    expect(refuseBody(runRecord(top, B, 2, ['a', 'b']))).toBe(`record 0: a run of 2 votes from slot ${top} ends past the safe integers`);
    const out: PersistRecord[] = [];
    expect(decodeRecords(runRecord(top - 1, B, 2, ['a', 'b']), 1, out, 3)).toBe(null);
    expect(out).toEqual([vote(top - 1, B, 'a'), vote(top, B, 'b')]);
    expect(refuseBody(runRecord(1, B, 2, []).subarray(0, 19))).toBe("record 0: a run's header runs past the body");
  });

  it('bytes left over after the run, and a batch count that counts votes instead of records', () => {
    expect(refuseBody(Buffer.concat([runRecord(1, B, 2, ['a', 'b']), Buffer.alloc(3)]))).toBe('3 bytes after the last of 1 records');
    expect(refuseBody(Buffer.concat([runRecord(1, B, 2, ['a', 'b']), singleAccept(3, B, 'c')]), 3)).toBe('record 2 of 3 runs past the body');
  });

  it('a flipped or zeroed byte anywhere in a run batch followed by another batch', () => {
    const dir = tmpDir();
    const log = writeLog(dir, [Array.from({ length: 4 }, (_, i) => vote(i, B, `v${i}`)), [{ k: 'round', round: 2 }]]);
    const [b0, b1] = log.starts as [number, number];
    let refused = 0;
    for (let at = b0; at < b1; at++) {
      for (const how of ['flip', 'zero'] as const) {
        const bad = Buffer.from(log.bytes);
        bad[at] = how === 'flip' ? (bad[at] as number) ^ 0xff : 0;
        if (bad.equals(log.bytes)) continue;
        expectRefused(dir, log, bad, b0);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(b1 - b0);
  });
});
