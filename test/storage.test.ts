/** File and memory storage: what goes in comes back, in order, across reopen; directory checks. */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { MemoryStorage, checkWritableDir, readLog, replicaFile } from '../src/storage/index.js';
import { openLog, tmpDir } from './support/storage-files.js';

const recs: PersistRecord[] = [
  { k: 'round', round: 3 },
  { k: 'promise', slot: 0, ballot: 65_537 },
  { k: 'floor', ballot: 131_073 },
  { k: 'accept', slot: 7, ballot: 131_073, value: 'héllo:wörld' },
];

describe('FileStorage', () => {
  it('replays what it appended, in order, across reopen (batch: one fsync per append; always: one per record)', () => {
    const dir = tmpDir();
    const a = openLog(dir, 1, 'batch');
    expect(a.load()).toEqual([]);
    a.append(recs.slice(0, 2));
    a.append(recs.slice(2));
    expect(a.stats.fsyncs).toBe(2);
    expect(a.stats.records).toBe(4);
    a.close();
    const b = openLog(dir, 1, 'always');
    expect(b.load()).toEqual(recs);
    b.append([{ k: 'round', round: 9 }, { k: 'round', round: 10 }]);
    expect(b.stats.fsyncs).toBe(2);
    b.close();
    const c = openLog(dir, 1, 'batch');
    expect(c.load()).toEqual([...recs, { k: 'round', round: 9 }, { k: 'round', round: 10 }]);
    expect(c.stats.truncated_bytes).toBe(0);
    c.close();
    // 'batch' wrote 2 batches, 'always' one per record: 4 in all.
    expect(readLog(readFileSync(replicaFile(dir, 1))).batches).toBe(4);
  });

  it('keeps every value exactly, also one that is not well-formed Unicode (a lone surrogate) and the empty one', () => {
    const dir = tmpDir();
    const values = ['', 'plain', 'ünïcödé ✓ 🎉', 'lone \ud800 surrogate', '\udfff', 'x'.repeat(100_000)];
    const a = openLog(dir, 0, 'batch');
    a.append(values.map((value, slot) => ({ k: 'accept', slot, ballot: 2 ** 40 + slot, value })));
    a.close();
    const b = openLog(dir, 0, 'batch');
    expect(b.load().map((r) => (r.k === 'accept' ? r.value : null))).toEqual(values);
    b.close();
  });

  it('refuses appends after close with a one-line error', () => {
    const a = openLog(tmpDir(), 0, 'batch');
    a.close();
    expect(() => a.append(recs)).toThrow(/^storage .*replica-0\.log is closed$/);
  });

  it('memory storage returns what it was given', () => {
    const m = new MemoryStorage();
    m.append(recs);
    expect(m.load()).toEqual(recs);
  });
});

describe('checkWritableDir', () => {
  it('rejects a path through a plain file with a one-line error', () => {
    const dir = tmpDir();
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    expect(() => checkWritableDir(join(file, 'sub'))).toThrow(/^storage directory '.*' cannot be written: [^\n]*$/);
  });

  const root = process.getuid?.() === 0;
  // Root writes through a mode-0500 directory (DAC does not apply to it), so this case cannot be staged as root.
  it.skipIf(root)(`rejects a directory without write permission${root ? ' (skipped: running as root, which writes through mode 0500)' : ''}`, () => {
    const ro = join(tmpDir(), 'ro');
    checkWritableDir(ro);
    chmodSync(ro, 0o500);
    try {
      expect(() => checkWritableDir(ro)).toThrow(/^storage directory '.*' cannot be written: [^\n]*$/);
    } finally {
      chmodSync(ro, 0o700);
    }
  });
});
