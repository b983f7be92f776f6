import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { FileStorage, MemoryStorage, checkWritableDir, decodeRecords, encodeRecord, replicaFile } from '../src/storage/index.js';

const recs: PersistRecord[] = [
  { k: 'round', round: 3 },
  { k: 'promise', slot: 0, ballot: 65_537 },
  { k: 'floor', ballot: 131_073 },
  { k: 'accept', slot: 7, ballot: 131_073, value: 'héllo:wörld' },
];

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'synod-storage-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('record codec', () => {
  it('round-trips every record kind', () => {
    const buf = Buffer.concat(recs.map(encodeRecord));
    expect(decodeRecords(buf)).toEqual({ records: recs, good_bytes: buf.length });
  });

  it('stops at a torn tail (a crash mid-write)', () => {
    const whole = Buffer.concat(recs.map(encodeRecord));
    for (let cut = 1; cut < encodeRecord(recs[3] as PersistRecord).length; cut++) {
      const r = decodeRecords(whole.subarray(0, whole.length - cut));
      expect(r.records).toEqual(recs.slice(0, 3));
    }
  });

  it('stops at a record whose checksum fails', () => {
    const parts = recs.map(encodeRecord);
    const bad = Buffer.from(parts[2] as Buffer);
    bad[bad.length - 2] = (bad[bad.length - 2] ?? 0) ^ 0xff;
    const r = decodeRecords(Buffer.concat([parts[0] as Buffer, parts[1] as Buffer, bad, parts[3] as Buffer]));
    expect(r.records).toEqual(recs.slice(0, 2));
  });
});

describe('FileStorage', () => {
  it('replays what it appended, in order, across reopen (batch fsync: one per append)', () => {
    const dir = tmp();
    const a = new FileStorage(dir, 1, 'batch');
    expect(a.load()).toEqual([]);
    a.append(recs.slice(0, 2));
    a.append(recs.slice(2));
    expect(a.stats.fsyncs).toBe(2);
    a.close();
    const b = new FileStorage(dir, 1, 'always');
    expect(b.load()).toEqual(recs);
    b.append([{ k: 'round', round: 9 }, { k: 'round', round: 10 }]);
    expect(b.stats.fsyncs).toBe(2);
    b.close();
    const c = new FileStorage(dir, 1, 'batch');
    expect(c.load()).toEqual([...recs, { k: 'round', round: 9 }, { k: 'round', round: 10 }]);
    c.close();
  });

  it('cuts a torn or corrupt tail at start, and appends cleanly after it', () => {
    const dir = tmp();
    const a = new FileStorage(dir, 0, 'batch');
    a.append(recs);
    a.close();
    const file = replicaFile(dir, 0);
    const good = statSync(file).size;
    appendFileSync(file, Buffer.from([200, 0, 0, 0, 1, 2, 3])); // a header promising 200 bytes, then the crash
    const b = new FileStorage(dir, 0, 'batch');
    expect(b.load()).toEqual(recs);
    expect(b.stats.truncated_bytes).toBe(7);
    expect(statSync(file).size).toBe(good);
    b.append([{ k: 'round', round: 4 }]);
    b.close();
    // Garble a byte inside the last record: it and everything after it go.
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0x55;
    writeFileSync(file, bytes);
    const c = new FileStorage(dir, 0, 'batch');
    expect(c.load()).toEqual(recs);
    c.close();
  });

  it('refuses to start on damage in the middle of the file instead of cutting acknowledged records', () => {
    const dir = tmp();
    const a = new FileStorage(dir, 0, 'batch');
    a.append(recs);
    const big = 'x'.repeat(1 << 20);
    for (let k = 0; k < 17; k++) a.append([{ k: 'accept', slot: k, ballot: 65536, value: big }]);
    a.close();
    const file = replicaFile(dir, 0);
    const bytes = readFileSync(file);
    bytes[10] = (bytes[10] ?? 0) ^ 0x55; // inside the first record
    writeFileSync(file, bytes);
    expect(() => new FileStorage(dir, 0, 'batch')).toThrow(/refusing to cut acknowledged state/);
    expect(statSync(file).size).toBe(bytes.length); // nothing was cut
  });

  it('memory storage returns what it was given', () => {
    const m = new MemoryStorage();
    m.append(recs);
    expect(m.load()).toEqual(recs);
  });

  it('rejects a directory that cannot be written with a one-line error', () => {
    const dir = tmp();
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    expect(() => checkWritableDir(join(file, 'sub'))).toThrow(/^storage directory '.*' cannot be written: [^\n]*$/);
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      checkWritableDir(ro);
      chmodSync(ro, 0o500);
      expect(() => checkWritableDir(ro)).toThrow(/cannot be written/);
      chmodSync(ro, 0o700);
    }
  });
});
