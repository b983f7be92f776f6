/**
 * The log format's one decision (src/storage/log-format.ts): a torn last write
 * is cut, anything else damaged is refused with the file, the byte offset and
 * what was wrong, and the file is left byte for byte as it was.
 */
import { appendFileSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { StorageError, markerFile, readLog, replicaFile, type StorageFs, realFs } from '../src/storage/index.js';
import { batchStarts, escape, expectRefused, garbage, handMadeBatch, noSyncFs, openLog, sampleBatches, tmpDir, writeLog } from './support/storage-files.js';



/** Opening must cut exactly back to `goodBytes` and replay `records`; a later append and reopen still work. */
function expectCut(dir: string, path: string, damaged: Buffer, goodBytes: number, records: PersistRecord[]): void {
  writeFileSync(path, damaged);
  const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
  expect(s.load()).toEqual(records);
  expect(s.stats.truncated_bytes).toBe(damaged.length - goodBytes);
  expect(readFileSync(path).length).toBe(goodBytes);
  s.append([{ k: 'round', round: 999 }]);
  s.close();
  const again = openLog(dir, 0, 'batch', { fs: noSyncFs });
  expect(again.load()).toEqual([...records, { k: 'round', round: 999 }]);
  expect(again.stats.truncated_bytes).toBe(0);
  again.close();
}

function damage(bytes: Buffer, at: number, how: 'flip' | 'zero'): Buffer {
  const b = Buffer.from(bytes);
  b[at] = how === 'flip' ? (b[at] as number) ^ 0xff : 0;
  return b;
}

describe('corruption is refused, the file left unchanged', () => {
  it('the issue\'s finding: 200 records, one byte flipped at offset 10, reopened -> refused, 0 bytes cut', () => {
    const dir = tmpDir();
    const log = writeLog(dir, Array.from({ length: 200 }, (_, i): PersistRecord[] => [{ k: 'accept', slot: i, ballot: 65_537, value: `value-${i}` }]));
    expect(log.starts.length).toBe(201);
    const e = expectRefused(dir, log, damage(log.bytes, 10, 'flip'), 'file-header');
    expect(e.message).toContain('file header checksum mismatch');
    expect(readFileSync(log.path).length).toBe(log.bytes.length);
  });

  it('a flipped or zeroed byte anywhere in the file header, or in the header or body of the first or a middle batch, whatever follows', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(6));
    const [, , b2, b3] = log.starts as [number, number, number, number];
    let refused = 0, unchanged = 0;
    // file header, batch 0 (header and body) and batch 2 (a middle one), every byte, both ways.
    const offsets = [...Array.from({ length: b3 - b2 }, (_, k) => b2 + k), ...Array.from({ length: (log.starts[1] as number) }, (_, k) => k)];
    for (const at of offsets) {
      for (const how of ['flip', 'zero'] as const) {
        const bad = damage(log.bytes, at, how);
        if (bad.equals(log.bytes)) {
          unchanged++; // zeroing a byte that was 0 damages nothing
          continue;
        }
        const batch = at < 40 ? 'file-header' : (log.starts.filter((s) => s <= at).pop() as number);
        expectRefused(dir, log, bad, batch);
        refused++;
      }
    }
    expect(refused + unchanged).toBe(offsets.length * 2);
    expect(refused).toBeGreaterThan(offsets.length);
    writeFileSync(log.path, log.bytes);
    const s = openLog(dir, 0);
    expect(s.load()).toEqual(log.records);
    s.close();
  });

  it('a batch header whose checksum fails while its length is plausible, followed by a valid batch', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(4));
    const at = log.starts[1] as number;
    const bad = Buffer.from(log.bytes);
    bad.writeUInt32LE(bad.readUInt32LE(at + 8) + 7, at + 8); // the sequence number, under the header checksum
    const e = expectRefused(dir, log, bad, at);
    expect(e.message).toContain(`batch header checksum mismatch, and a valid batch (sequence number 2) follows at byte ${log.starts[2]}`);
  });

  it('a batch whose checksummed length runs past the end, with valid batches where its body should be (its body lost)', () => {
    const dir = tmpDir();
    const big: PersistRecord[] = [{ k: 'accept', slot: 1, ballot: 65_537, value: 'x'.repeat(1000) }];
    const log = writeLog(dir, [[{ k: 'round', round: 1 }], big, [{ k: 'round', round: 2 }], [{ k: 'round', round: 3 }]]);
    const [, b1, b2] = log.starts as [number, number, number];
    const bad = Buffer.concat([log.bytes.subarray(0, b1 + 24), log.bytes.subarray(b2)]);
    const e = expectRefused(dir, log, bad, b1);
    expect(e.message).toContain(`batch 1 runs past the end of the file (${b2 - b1 - 24} body bytes declared, ${bad.length - b1 - 24} present), and a valid batch (sequence number 2) follows at byte ${b1 + 24}`);
  });

  it('a body one byte short with the next batch right after it (its checksum fails, a valid batch follows)', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(4));
    const [, b1, b2] = log.starts as [number, number, number];
    const bad = Buffer.concat([log.bytes.subarray(0, b2 - 1), log.bytes.subarray(b2)]);
    const e = expectRefused(dir, log, bad, b1);
    expect(e.message).toContain(`batch 1 body checksum mismatch, and a valid batch (sequence number 2) follows at byte ${b2 - 1}`);
  });

  it('a zeroed region in the middle (a lost write under later ones)', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(5));
    const [, , b2, b3] = log.starts as [number, number, number, number];
    const bad = Buffer.from(log.bytes);
    bad.fill(0, b2, b3);
    expectRefused(dir, log, bad, b2);
  });

  it('a missing batch (sequence gap) and a repeated batch', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(4));
    const [, b1, b2, b3] = log.starts as [number, number, number, number];
    const gap = Buffer.concat([log.bytes.subarray(0, b1), log.bytes.subarray(b2)]);
    expect(expectRefused(dir, log, gap, b1 + 8).message).toContain('batch sequence number 2 where 1 was expected');
    const repeat = Buffer.concat([log.bytes.subarray(0, b3), log.bytes.subarray(b2, b3), log.bytes.subarray(b3)]);
    expect(expectRefused(dir, log, repeat, b3 + 8).message).toContain('batch sequence number 2 where 3 was expected');
  });

  it('a checksummed body that does not decode is refused even as the last batch (written wrong, not torn)', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(2));
    const last = log.starts[2] as number;
    // A hand-made batch 2: one record of an unknown kind (9), both checksums right.
    const body = Buffer.alloc(9);
    body[0] = 9;
    const e = expectRefused(dir, log, Buffer.concat([log.bytes, handMadeBatch(2, body, 1)]), last + 24);
    expect(e.message).toContain('batch 2 passes its checksum but does not decode: record 0: unknown record kind 9');
  });
});

describe('a torn last write is cut, and every earlier record replays', () => {
  it('the file cut at every offset inside the last batch', () => {
    const dir = tmpDir();
    const batches = sampleBatches(4);
    const log = writeLog(dir, batches);
    const lastStart = log.starts[3] as number;
    const kept = batches.slice(0, 3).flat();
    for (let len = lastStart + 1; len < log.bytes.length; len++) expectCut(dir, log.path, log.bytes.subarray(0, len), lastStart, kept);
    // Cut exactly at a batch boundary: nothing is torn.
    writeFileSync(log.path, log.bytes.subarray(0, lastStart));
    const s = openLog(dir, 0);
    expect(s.load()).toEqual(kept);
    expect(s.stats.truncated_bytes).toBe(0);
    s.close();
  });

  it('the last batch with its end zeroed (a file extended before its data reached the disk), from every offset', () => {
    const dir = tmpDir();
    const batches = sampleBatches(3);
    const log = writeLog(dir, batches);
    const lastStart = log.starts[2] as number;
    for (let from = lastStart; from < log.bytes.length; from++) {
      const bad = Buffer.from(log.bytes);
      bad.fill(0, from);
      if (bad.equals(log.bytes)) continue;
      expectCut(dir, log.path, bad, lastStart, batches.slice(0, 2).flat());
    }
  });

  it('garbage appended after the last batch, of every length up to 300 bytes', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(3));
    for (let len = 1; len <= 300; len++) expectCut(dir, log.path, Buffer.concat([log.bytes, garbage(len, len)]), log.bytes.length, log.records);
  });

  it('a torn header of the next batch, and zeros after the last batch', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(3));
    const next = writeLog(tmpDir(), sampleBatches(4)).bytes;
    const tornHeader = next.subarray(log.bytes.length, log.bytes.length + 13);
    expectCut(dir, log.path, Buffer.concat([log.bytes, tornHeader]), log.bytes.length, log.records);
    expectCut(dir, log.path, Buffer.concat([log.bytes, Buffer.alloc(4096)]), log.bytes.length, log.records);
  });

  it('a zeroed tail of several whole batches is cut too (documented: a disk that loses fsynced writes is not detected)', () => {
    const dir = tmpDir();
    const batches = sampleBatches(5);
    const log = writeLog(dir, batches);
    const b2 = log.starts[2] as number;
    const bad = Buffer.from(log.bytes);
    bad.fill(0, b2);
    expectCut(dir, log.path, bad, b2, batches.slice(0, 2).flat());
  });
});

describe('the file header: versions, old format, identity', () => {
  function header(version: number, size = 40): Buffer {
    const h = Buffer.alloc(size);
    h.write('SYNODLOG', 0, 'latin1');
    h.writeUInt32LE(version, 8);
    h.writeUInt32LE(size, 12);
    h.writeUInt32LE(crc32(h.subarray(0, size - 4)), size - 4);
    return h;
  }

  it('a newer version is refused by version, with a valid checksum of its (larger) header', () => {
    const dir = tmpDir();
    const path = replicaFile(dir, 0);
    writeFileSync(path, header(4, 64));
    expect(() => openLog(dir, 0)).toThrow(new RegExp(`^storage ${escape(path)}: log format version 4 is newer than this build reads \\(3\\); run the synod that wrote it$`));
    expect(readFileSync(path).equals(header(4, 64))).toBe(true);
  });

  it('version 0 is corrupt', () => {
    const dir = tmpDir();
    writeFileSync(replicaFile(dir, 0), header(0));
    expect(() => openLog(dir, 0)).toThrow(/corrupt at byte 8: version 0/);
  });

  it('the old format (length, crc32, JSON, no header) is refused as such, untouched', () => {
    const dir = tmpDir();
    const path = replicaFile(dir, 0);
    const payload = Buffer.from(JSON.stringify(['p', 0, 65_537]));
    const old = Buffer.alloc(8 + payload.length);
    old.writeUInt32LE(payload.length, 0);
    old.writeUInt32LE(crc32(payload), 4);
    payload.copy(old, 8);
    writeFileSync(path, old);
    expect(() => openLog(dir, 0)).toThrow(new RegExp(`^storage ${escape(path)}: written in synod's old record format \\(no file header, before log format version 1\\); this build does not read it`));
    expect(readFileSync(path).equals(old)).toBe(true);
  });

  it('a file that is not a synod log at all, and one shorter than the header', () => {
    const dir = tmpDir();
    writeFileSync(replicaFile(dir, 0), 'hello, world: not a log at all');
    expect(() => openLog(dir, 0)).toThrow(/corrupt at byte 0: not a synod log \(bad magic\)/);
    writeFileSync(replicaFile(dir, 0), header(1).subarray(0, 30));
    expect(() => openLog(dir, 0)).toThrow(/corrupt at byte 0: a file of 30 bytes, shorter than its 40-byte header/);
  });

  it('a peer\'s log copied in is refused (another acceptor\'s promises), as is a cluster of another size', () => {
    const dir = tmpDir();
    writeLog(dir, sampleBatches(2), 0);
    copyFileSync(replicaFile(dir, 0), replicaFile(dir, 1));
    expect(() => openLog(dir, 1)).toThrow(/this is the log of replica 0 of a 3-replica cluster, opened as replica 1 of 3/);
    expect(() => openLog(dir, 0, 'batch', { replicas: 5 })).toThrow(/replica 0 of a 3-replica cluster ran here, not replica 0 of 5/);
    rmSync(markerFile(dir, 0));
    expect(() => openLog(dir, 0, 'batch', { replicas: 5 })).toThrow(/this is the log of replica 0 of a 3-replica cluster, opened as replica 0 of 5/);
  });
});

describe('a store that knows what it had', () => {
  it('a replica that ran before and finds its log missing or empty refuses to start, and creates nothing', () => {
    const dir = tmpDir();
    writeLog(dir, sampleBatches(2), 1);
    const path = replicaFile(dir, 1);
    rmSync(path);
    const lost = new RegExp(`^storage ${escape(path)}: this replica ran before \\(its marker .*replica-1\\.marker says so\\) but its log is missing: .*it stays down`);
    expect(() => openLog(dir, 1)).toThrow(lost);
    expect(existsSync(path)).toBe(false);
    writeFileSync(path, '');
    expect(() => openLog(dir, 1)).toThrow(/but its log is empty/);
    expect(readFileSync(path).length).toBe(0);
  });

  it('without a marker, the caller\'s word (ranBefore) is enough to refuse a missing log', () => {
    const dir = tmpDir();
    expect(() => openLog(dir, 0, 'batch', { ranBefore: true })).toThrow(/this replica ran before \(this cluster started it before\) but its log is missing/);
    expect(existsSync(replicaFile(dir, 0))).toBe(false);
  });

  it('a log without its marker (a crash between the two, or an older build) opens and gets its marker', () => {
    const dir = tmpDir();
    const log = writeLog(dir, sampleBatches(2));
    rmSync(markerFile(dir, 0));
    const s = openLog(dir, 0);
    expect(s.load()).toEqual(log.records);
    s.close();
    expect(existsSync(markerFile(dir, 0))).toBe(true);
  });

  it('an unreadable marker is refused', () => {
    const dir = tmpDir();
    writeLog(dir, sampleBatches(1));
    writeFileSync(markerFile(dir, 0), '{"synod":');
    expect(() => openLog(dir, 0)).toThrow(/unreadable replica marker/);
  });

  it('creating a log and its marker: each is renamed into place and then the directory is fsynced', () => {
    const root = tmpDir();
    const dir = `${root}/data`;
    const calls: string[] = [];
    const spy: StorageFs = {
      ...realFs,
      rename: (from, to) => {
        calls.push(`rename ${from.slice(root.length)} -> ${to.slice(root.length)}`);
        realFs.rename(from, to);
      },
      fsyncDir: (d) => {
        calls.push(`fsyncDir ${d.slice(root.length) || '/'}`);
        realFs.fsyncDir(d);
      },
      fsync: (fd) => {
        calls.push('fsync');
        realFs.fsync(fd);
      },
    };
    const s = openLog(dir, 2, 'batch', { fs: spy });
    s.append([{ k: 'round', round: 1 }]);
    s.close();
    expect(calls).toEqual([
      'fsyncDir /', // the new data directory's parent
      'fsync', // the log's header, in its temporary file
      'rename /data/replica-2.log.tmp -> /data/replica-2.log',
      'fsyncDir /data',
      'fsync', // the marker, in its temporary file
      'rename /data/replica-2.marker.tmp -> /data/replica-2.marker',
      'fsyncDir /data',
      'fsync', // the first batch
    ]);
  });
});

describe('a failed fsync stops the storage for good', () => {
  it('EIO on the 4th append: that append throws, every later one throws the same without writing, and only 3 batches survive', () => {
    const dir = tmpDir();
    const batches = sampleBatches(6);
    let writes = 0;
    const counting: StorageFs = { ...realFs, write: (fd, b, o, l) => (writes++, realFs.write(fd, b, o, l)) };
    const s = openLog(dir, 0, 'batch', { fs: counting, fault: { replica: 0, failFsyncAfter: 3 } });
    for (const b of batches.slice(0, 3)) s.append(b);
    let first: unknown = null;
    try {
      s.append(batches[3] as PersistRecord[]);
    } catch (e) {
      first = e;
    }
    expect(first).toBeInstanceOf(StorageError);
    expect((first as Error).message).toMatch(/^storage .*replica-0\.log: write or fsync failed \(EIO: i\/o error, fsync \(injected\)\); the replica stops, without a retry/);
    const writesAtFailure = writes;
    expect(() => s.append(batches[4] as PersistRecord[])).toThrow(first as Error);
    expect(writes).toBe(writesAtFailure);
    expect(s.stats.fsyncs).toBe(3);
    s.close();
    const again = openLog(dir, 0);
    expect(again.load()).toEqual(batches.slice(0, 3).flat());
    again.close();
    expect(batchStarts(readFileSync(replicaFile(dir, 0))).length).toBe(4);
  });

  it('a fault for another replica changes nothing here', () => {
    const dir = tmpDir();
    const s = openLog(dir, 0, 'batch', { fault: { replica: 1, failFsyncAfter: 0 } });
    s.append([{ k: 'round', round: 1 }]);
    s.close();
    expect(readLog(readFileSync(replicaFile(dir, 0))).records).toEqual([{ k: 'round', round: 1 }]);
  });
});

it('appending to a log cut by a torn write continues its sequence numbers', () => {
  const dir = tmpDir();
  const log = writeLog(dir, sampleBatches(3));
  appendFileSync(log.path, garbage(7, 40));
  const s = openLog(dir, 0);
  s.append([{ k: 'round', round: 50 }]);
  s.close();
  const r = readLog(readFileSync(log.path));
  expect(r.batches).toBe(4);
  expect(r.next_seq).toBe(4);
  expect(r.torn).toBe(null);
});
