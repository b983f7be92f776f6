/**
 * A body that passes its checksum but holds bytes that are not UTF-8 in a
 * UTF-8 value (a run's vote, tag 7, or a tag 3 accept) is "bytes written
 * wrong" (log-format.ts: a checksummed body that does not decode is
 * CORRUPT). Decoding them would turn them into U+FFFD, and the replica would
 * start with a vote for a value nobody proposed: they are refused (found by
 * an independent review). The encoder never writes such bytes (a run only
 * holds well-formed values, and their UTF-8 is exact), so the check costs
 * nothing on a good log but a scan for U+FFFD.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { StorageError } from '../src/storage/index.js';
import { decodeRecords } from '../src/storage/record-codec.js';
import { handMadeBatch, noSyncFs, openLog, tmpDir, writeLog } from './support/storage-files.js';

const B = 65_537;

/** A run of 2 votes in slots 1 and 2; the second value's bytes as given. */
function runWithBytes(second: Buffer): Buffer {
  const head = Buffer.alloc(21);
  head[0] = 7;
  head.writeDoubleLE(1, 1);
  head.writeDoubleLE(B, 9);
  head.writeUInt32LE(2, 17);
  const len = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n, 0);
    return b;
  };
  return Buffer.concat([head, len(1), Buffer.from('a'), len(second.length), second]);
}

/** A tag 3 accept in slot 3 whose value bytes are as given. */
function acceptWithBytes(bytes: Buffer): Buffer {
  const b = Buffer.alloc(21);
  b[0] = 3;
  b.writeDoubleLE(3, 1);
  b.writeDoubleLE(B, 9);
  b.writeUInt32LE(bytes.length, 17);
  return Buffer.concat([b, bytes]);
}

const NOT_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]) /* an encoded surrogate */, Buffer.from([0xe2, 0x82])];

describe('a checksummed UTF-8 value that is not UTF-8 is corruption', () => {
  it('decodeRecords refuses it in a run vote and in a tag 3 accept (today: decoded as U+FFFD)', () => {
    for (const bad of NOT_UTF8) {
      const out: PersistRecord[] = [];
      expect(decodeRecords(runWithBytes(bad), 1, out, 3), `run vote ${bad.toString('hex')}: ${JSON.stringify(out)}`).toEqual(expect.any(String));
      const out3: PersistRecord[] = [];
      expect(decodeRecords(acceptWithBytes(bad), 1, out3, 3), `tag 3 ${bad.toString('hex')}: ${JSON.stringify(out3)}`).toEqual(expect.any(String));
    }
  });

  it('FileStorage refuses to start on it, naming the file, and changes nothing', () => {
    const dir = tmpDir();
    const log = writeLog(dir, [[{ k: 'round', round: 1 }]]);
    const damaged = Buffer.concat([log.bytes, handMadeBatch(1, runWithBytes(Buffer.from([0xff])), 1)]);
    writeFileSync(log.path, damaged);
    let err: unknown = null;
    let loaded: PersistRecord[] = [];
    try {
      const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
      loaded = s.load();
      s.close();
    } catch (e) {
      err = e;
    }
    expect(err, `loaded instead: ${JSON.stringify(loaded)}`).toBeInstanceOf(StorageError);
    expect(readFileSync(log.path).equals(damaged)).toBe(true);
  });
});
