/**
 * log format version 3 through FileStorage. A torn
 * last batch holding a run, cut (or zero-filled) at every byte, opens with
 * that batch cut and nothing before it lost; a version-2 log (with runs of
 * votes the old build wrote one by one) upgraded with a crash or a power
 * loss before every file-system step of the rewrite restarts with every
 * record, and ends as version 3; a torn tail in a version-2 log is cut
 * before the rewrite.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { FileStorage, readLog, replicaFile } from '../src/storage/index.js';
import { markerFile, writeMarker } from '../src/storage/marker.js';
import { PowerFs } from './support/power-fs.js';
import { batchStarts, noSyncFs, openLog, preRunLog, tmpDir, writeLog } from './support/storage-files.js';

const B = 65_537;
const vote = (slot: number, ballot: number, value: string): PersistRecord => ({ k: 'accept', slot, ballot, value });

/** Batches ending with a run batch (a promise, a run of 6 with an astral and an empty value, a lone surrogate vote, a run of 2). */
function history(): PersistRecord[][] {
  return [
    [{ k: 'round', round: 1 }, { k: 'floor', ballot: B }],
    Array.from({ length: 5 }, (_, i) => vote(i, B, `a${i}`)),
    [{ k: 'promise', slot: 5, ballot: 2 * B }],
    [
      { k: 'promise', slot: 5, ballot: 2 * B },
      ...['x', '😀', '', 'é€', 'y'.repeat(300), 'z'].map((v, i) => vote(5 + i, 2 * B, v)),
      vote(11, 2 * B, 'lone\uDC00'),
      vote(12, 2 * B, 'p'),
      vote(13, 2 * B, 'q'),
    ],
  ];
}

describe('a torn last batch holding runs', () => {
  for (const how of ['cut', 'zero-filled'] as const) {
    it(`${how} at every byte: opens with that batch cut (truncated_bytes), every earlier record kept, appends go on`, () => {
      const dir = tmpDir();
      const batches = history();
      const log = writeLog(dir, batches);
      const last = log.starts[batches.length - 1] as number;
      const end = log.bytes.length;
      const kept = batches.slice(0, -1).flat();
      for (let at = last; at < end; at++) {
        const torn = how === 'cut' ? log.bytes.subarray(0, at) : Buffer.concat([log.bytes.subarray(0, at), Buffer.alloc(end - at)]);
        writeFileSync(log.path, torn);
        const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
        expect(s.load(), `${how} at ${at}`).toEqual(kept);
        expect(s.stats.truncated_bytes, `${how} at ${at}`).toBe(torn.length - last);
        s.append([vote(100, 3 * B, 'after'), vote(101, 3 * B, 'after2')]);
        s.close();
        const back = readLog(readFileSync(log.path));
        expect(back.records).toEqual([...kept, vote(100, 3 * B, 'after'), vote(101, 3 * B, 'after2')]);
        expect(back.next_seq).toBe(batches.length);
      }
    });
  }
});

describe('a version-2 log upgraded to version 3', () => {
  it('a torn tail in the version-2 log is cut before the rewrite; the rest is rewritten intact', () => {
    const dir = tmpDir();
    const path = writeLog(dir, []).path;
    const batches = history();
    const v2 = preRunLog(batches, 2);
    const full = readLog(v2);
    expect(full.version).toBe(2);
    // Cut the version-2 log 7 bytes into its last batch.
    const lastStart = batchStarts(v2)[batches.length - 1] as number;
    writeFileSync(path, v2.subarray(0, lastStart + 7));
    const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
    expect(s.load()).toEqual(batches.slice(0, -1).flat());
    expect(s.stats.truncated_bytes).toBe(7);
    s.close();
    const after = readLog(readFileSync(path));
    expect(after.version).toBe(3);
    expect(after.records).toEqual(batches.slice(0, -1).flat());
  });

  it('a crash or a power loss before every step of the rewrite: the restart has every record, and the log ends as version 3', () => {
    const dir = '/synod-upgrade';
    const path = replicaFile(dir, 0);
    const batches = history();
    const records = batches.flat();
    /** A PowerFs holding a durable version-2 log and marker, as the previous build left them. */
    function oldFiles(): PowerFs {
      const fs = new PowerFs();
      const fd = fs.open(path, 'wx');
      const bytes = preRunLog(batches, 2);
      fs.write(fd, bytes, 0, bytes.length);
      fs.fsync(fd);
      fs.close(fd);
      writeMarker(fs, markerFile(dir, 0), { replica: 0, replicas: 3 });
      fs.fsyncDir(dir);
      return fs;
    }
    const probe = oldFiles();
    const first = probe.steps + 1;
    const opened = new FileStorage({ dir, id: 0, replicas: 3, fsync: 'batch', fs: probe });
    // The steps of the constructor (open, replay, the rewrite), not of close().
    const steps = probe.calls.slice(first - 1);
    opened.close();
    expect(steps).toEqual(['open replica-0.log a+', 'open replica-0.log.next wx', 'write', 'write', 'fsync', 'close', 'rename replica-0.log.next -> replica-0.log', 'fsync dir', 'open replica-0.log a+', 'close']);
    const versions = new Set<number>();
    for (let k = 1; k <= steps.length; k++) {
      for (const loss of ['process crash', 'power loss'] as const) {
        const fs = oldFiles();
        fs.crashBefore = fs.steps + k;
        expect(() => new FileStorage({ dir, id: 0, replicas: 3, fsync: 'batch', fs }), `step ${k}`).toThrow(/crash injected/);
        if (loss === 'power loss') fs.powerLoss();
        else fs.processCrash();
        versions.add(readLog(fs.readFile(path)).version);
        // The restart: every record, and the file is version 3 afterwards; the stray .next is gone.
        const s = new FileStorage({ dir, id: 0, replicas: 3, fsync: 'batch', fs });
        expect(s.load(), `crash before step ${k} (${steps[k - 1]}), ${loss}: ${fs.listing()}`).toEqual(records);
        s.append([vote(50, 3 * B, 'new')]);
        s.close();
        expect(fs.exists(`${path}.next`)).toBe(false);
        const after = readLog(fs.readFile(path));
        expect(after.version).toBe(3);
        expect(after.records).toEqual([...records, vote(50, 3 * B, 'new')]);
      }
    }
    // Both files were seen after a crash: the old version-2 log and the rewritten one.
    expect([...versions].sort()).toEqual([2, 3]);
  });
});
