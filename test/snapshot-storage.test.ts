/**
 * Snapshots and compaction in storage (src/storage/file.ts, snapshot-file.ts):
 * the log replaced by its live state through a segment switch, a crash before
 * every step of "snapshot, then compact" leaves files that restart to the same
 * durable state (a power loss too), a version-1 log is rewritten as version 3,
 * a mark past the snapshot and a damaged snapshot are refused, unchanged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import { MsgType } from '../src/paxos/messages.js';
import { Replica, type HeldSnapshot } from '../src/paxos/replica.js';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { FileStorage, readLog, replicaFile } from '../src/storage/index.js';
import { segmentBatches } from '../src/storage/file.js';
import { snapshotFile } from '../src/storage/snapshot-file.js';
import { CrashError, PowerFs } from './support/power-fs.js';
import { noSyncFs, openLog, preRunLog, tmpDir, writeLog } from './support/storage-files.js';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const B = 65_536;

/** Promises and votes in slots 0..19 at several ballots, a floor, rounds: one batch per slot. */
function history(): PersistRecord[][] {
  return Array.from({ length: 20 }, (_, s): PersistRecord[] => [
    { k: 'round', round: s + 1 },
    { k: 'promise', slot: s, ballot: (s + 1) * B + 1 },
    { k: 'accept', slot: s, ballot: (s + 1) * B + 1, value: `v${s}` },
    ...(s % 3 === 0 ? [{ k: 'promise' as const, slot: s, ballot: (s + 2) * B + 2 }] : []),
    ...(s === 12 ? [{ k: 'floor' as const, ballot: 13 * B + 1 }] : []),
  ]);
}

const config = { id: 0, nodes: 3, policy: createPolicy(policySpec('exponential')), random: () => 0.5, snapshots: true };
const SNAP_AT = 10;
const BODY = Buffer.from('the application state at slot 10');

/** A replica on these records with a snapshot at SNAP_AT taken: its live state is what compaction writes. */
function liveState(records: PersistRecord[]): PersistRecord[] {
  const r = Replica.start(config, 0, records);
  // The learner must have reached the snapshot: it learns slots 0..SNAP_AT-1 (values are opaque here).
  for (let s = 0; s < SNAP_AT; s++) r.receive(1, { t: MsgType.Decide, slot: s, value: `v${s}` }, 0);
  r.snapshotTaken(held(SNAP_AT, BODY));
  return r.durableState();
}

function held(index: number, body: Buffer): HeldSnapshot {
  return { index, data: body.toString('latin1'), crc: 0 };
}

/** The durable state a restart on `dir` comes back with (round, mark, floor, promises and votes at and above it). */
function restartedState(dir: string, fs: PowerFs | typeof noSyncFs): { state: PersistRecord[]; snapshot: number } {
  const s = new FileStorage({ dir, id: 0, replicas: 3, fsync: 'batch', fs, ranBefore: true });
  const records = s.load();
  const snap = s.loadSnapshot();
  s.close();
  const r = Replica.start(config, 0, records, snap === null ? null : held(snap.index, snap.body));
  return { state: r.durableState(), snapshot: snap?.index ?? -1 };
}

describe('compaction: the log replaced by its live state', () => {
  it('a compacted log holds exactly the live state, batch numbers carry on, and later appends follow it', () => {
    const dir = tmpDir();
    const log = writeLog(dir, history());
    const live = liveState(log.records);
    // Slots 10..19 only (the mark at 10), their promises above their votes, the floor, the last round.
    expect(live[0]).toEqual({ k: 'round', round: 20 });
    expect(live[1]).toEqual({ k: 'mark', below: 10 });
    expect(live[2]).toEqual({ k: 'floor', ballot: 13 * B + 1 });
    expect(live.length).toBe(3 + 10 + 3); // 10 votes, and promises above the vote in slots 12, 15, 18
    const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
    expect(s.load()).toEqual(log.records);
    s.saveSnapshot(SNAP_AT, BODY);
    s.compact(live);
    expect(s.stats.compactions).toBe(1);
    s.append([{ k: 'round', round: 21 }]);
    s.close();
    const replay = readLog(readFileSync(replicaFile(dir, 0)));
    expect(replay.version).toBe(3);
    // 20 batches before, then one for the live state (16 records fit in one), then the append: 20, 21.
    expect(replay.batches).toBe(2);
    expect(replay.next_seq).toBe(22);
    expect(replay.records).toEqual([...live, { k: 'round', round: 21 }]);
    expect(readFileSync(replicaFile(dir, 0)).length).toBeLessThan(log.bytes.length / 2);
    const again = openLog(dir, 0, 'batch', { fs: noSyncFs });
    expect(again.load()).toEqual([...live, { k: 'round', round: 21 }]);
    expect(again.loadSnapshot()).toEqual({ index: SNAP_AT, body: BODY });
    again.close();
  });

  it('a crash before every step of "snapshot, then compact" restarts to the same durable state, after a process crash and after a power loss', () => {
    const dir = '/synod-crash';
    /** The files of a replica that wrote `history()` (one fsync per batch), then a snapshot and a compaction crashing before step k. */
    function run(crashBefore: number): { fs: PowerFs; crashed: CrashError | null; firstStep: number } {
      const fs = new PowerFs();
      const s = new FileStorage({ dir, id: 0, replicas: 3, fsync: 'batch', fs });
      for (const b of history()) s.append(b);
      const firstStep = fs.steps + 1;
      fs.crashBefore = firstStep + crashBefore - 1;
      let crashed: CrashError | null = null;
      try {
        s.saveSnapshot(SNAP_AT, BODY);
        s.compact(liveState(history().flat()));
      } catch (e) {
        if (!(e instanceof Error && e.message.includes('crash injected'))) throw e;
        crashed = new CrashError(fs.crashBefore, fs.calls[fs.calls.length - 1] ?? '');
      }
      return { fs, crashed, firstStep };
    }
    const full = run(Number.POSITIVE_INFINITY);
    const steps = full.fs.calls.slice(full.firstStep - 1);
    // The snapshot through a temporary file, then the segment switch (files named after the steps).
    expect(steps).toEqual([
      'open replica-0.snap.tmp wx', 'write', 'fsync', 'close', 'rename replica-0.snap.tmp -> replica-0.snap', 'fsync dir',
      'open replica-0.log.next wx', 'write', 'write', 'fsync', 'close', 'rename replica-0.log.next -> replica-0.log', 'fsync dir',
      'open replica-0.log a+', 'close',
    ]);
    const expected = restartedState(dir, full.fs);
    expect(expected.snapshot).toBe(SNAP_AT);
    const before = new PowerFs();
    const old = new FileStorage({ dir, id: 0, replicas: 3, fsync: 'batch', fs: before });
    for (const b of history()) old.append(b);
    old.close();
    // With no snapshot the restarted replica keeps every slot; with one, the slots from it on: the same there.
    const noSnapshot = restartedState(dir, before);
    expect(noSnapshot.snapshot).toBe(-1);
    const outcomes = new Set<string>();
    for (let k = 1; k <= steps.length + 1; k++) {
      for (const loss of ['process crash', 'power loss'] as const) {
        const { fs, crashed } = run(k);
        if (k <= steps.length) expect(crashed, `step ${k}`).not.toBeNull();
        if (loss === 'power loss') fs.powerLoss();
        else fs.processCrash();
        const after = restartedState(dir, fs);
        // Either the snapshot is not durable (then nothing may be forgotten) or it is (then the state from it on is the same).
        const want = after.snapshot === SNAP_AT ? expected.state : noSnapshot.state;
        expect(after.state, `crash before step ${k} (${steps[k - 1] ?? 'after the last'}), ${loss}: ${fs.listing()}`).toEqual(want);
        outcomes.add(`${after.snapshot}:${after.state.length}`);
        // And it goes on: an append after the restart is read back after another one.
        const s = new FileStorage({ dir, id: 0, replicas: 3, fsync: 'batch', fs, ranBefore: true });
        s.load();
        s.append([{ k: 'round', round: 99 }]);
        s.close();
        expect(restartedState(dir, fs).state[0]).toEqual({ k: 'round', round: 99 });
      }
    }
    // Every outcome was seen: no snapshot (full log), the snapshot with the full log, the snapshot with the compacted log.
    expect([...outcomes].sort()).toEqual([`-1:${noSnapshot.state.length}`, `${SNAP_AT}:${expected.state.length}`].sort());
  });
});

describe('what storage refuses around snapshots', () => {
  it('a log that forgot slots past its snapshot (or with no snapshot) is refused naming both files, unchanged', () => {
    const dir = tmpDir();
    const log = writeLog(dir, [[{ k: 'round', round: 1 }]]);
    const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
    s.compact([{ k: 'mark', below: 7 }, { k: 'round', round: 1 }]);
    s.close();
    const bytes = readFileSync(log.path);
    const path = replicaFile(dir, 0);
    const snap = snapshotFile(dir, 0);
    expect(() => openLog(dir, 0)).toThrow(new RegExp(`^storage ${escape(path)}: the log forgot every slot below 7, but its snapshot ${escape(snap)} is missing; the decisions in between would be lost, so the replica stays down$`));
    const t = openLog(tmpDir(), 0);
    t.close();
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('a damaged snapshot is refused naming the file, and left as it was', () => {
    const dir = tmpDir();
    const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
    s.saveSnapshot(5, BODY);
    s.close();
    const path = snapshotFile(dir, 0);
    const good = readFileSync(path);
    const bad = Buffer.from(good);
    bad[60] = (bad[60] as number) ^ 1;
    writeFileSync(path, bad);
    expect(() => openLog(dir, 0)).toThrow(new RegExp(`^storage ${escape(path)}: snapshot body checksum mismatch; refusing to start \\(nothing was changed\\)$`));
    expect(readFileSync(path).equals(bad)).toBe(true);
    writeFileSync(path, good.subarray(0, 40));
    expect(() => openLog(dir, 0)).toThrow(/not a synod snapshot \(40 bytes, bad magic or shorter than the header\)/);
    writeFileSync(join(dir, 'replica-0.snap'), good);
    const again = openLog(dir, 0);
    expect(again.loadSnapshot()).toEqual({ index: 5, body: BODY });
    again.close();
  });

  it('a version-1 log is read and rewritten as version 3 before anything is appended; a mark in a version-1 body is corrupt', () => {
    const dir = tmpDir();
    const batches = history().slice(0, 3);
    // As a version-1 build wrote it: every record on its own, no runs.
    const v1 = preRunLog(batches, 1);
    const path = replicaFile(dir, 0);
    writeFileSync(path, v1);
    expect(readLog(v1).version).toBe(1);
    const s = openLog(dir, 0, 'batch', { fs: noSyncFs });
    expect(s.load()).toEqual(batches.flat());
    s.close();
    const rewritten = readLog(readFileSync(path));
    expect(rewritten.version).toBe(3);
    expect(rewritten.records).toEqual(batches.flat());
    expect(rewritten.next_seq).toBe(4);
    // A mark record in a version-1 log: an unknown kind there.
    expect(() => readLog(preRunLog([[{ k: 'mark', below: 3 }]], 1))).toThrow(/batch 0 passes its checksum but does not decode: record 0: unknown record kind 6/);
  });
});

describe('segment batches (the live state written at a compaction or the rewrite of an older version)', () => {
  const vote = (slot: number, chars: number): PersistRecord => ({ k: 'accept', slot, ballot: 1, value: 'v'.repeat(chars) });
  it('are cut by bytes of values as well as by count: 16,384 votes of up to 1 MiB no longer make one batch past the 1 GiB limit', () => {
    // 10-character values count 30 bytes (3 per UTF-16 unit, UTF-8's worst): 3 fit in 100 bytes.
    const records: PersistRecord[] = [{ k: 'round', round: 4 }, ...Array.from({ length: 7 }, (_, i) => vote(i, 10)), { k: 'mark', below: 0 }];
    expect(segmentBatches(records, 16_384, 100).map((b) => b.length)).toEqual([4, 3, 2]);
    expect(segmentBatches(records, 4, 1e9).map((b) => b.length)).toEqual([4, 4, 1]);
    // One record larger than the bound still goes, alone.
    expect(segmentBatches([vote(0, 10), vote(1, 1000), vote(2, 10)], 16_384, 100).map((b) => b.length)).toEqual([1, 1, 1]);
    // The default bound (64 MiB, counted at 3 bytes a character): 1,100 votes of 1,000,000 characters go 22 a
    // batch (66 MB), far under the 1 GiB a batch may hold; in one batch they took 1.1 GB and the rewrite failed.
    const big = Array.from({ length: 1100 }, (_, i) => vote(i, 1_000_000));
    expect(segmentBatches(big).map((b) => b.length)).toEqual(Array.from({ length: 50 }, () => 22));
  });
});
