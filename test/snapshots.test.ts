/**
 * Snapshots through the embedding API and the runtime: every replica has the
 * same state, byte for byte, after taking snapshots, after a restart that
 * restores one, and after catching up by one; a replica partitioned beyond
 * the others' retained window catches up by snapshot once the partition heals;
 * a snapshot that does not restore is a clear error and loses nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, type ClusterStats } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import { policySpec } from '../src/contention/registry.js';
import { ReplicaHost, type HostConfig } from '../src/runtime/host.js';
import { InlineHub, InlineTransport } from '../src/runtime/inline-transport.js';
import { Op } from '../src/runtime/client-wire.js';
import { Snapshots, type AppSource, type SnapshotCore } from '../src/runtime/snapshots.js';
import { Applier } from '../src/runtime/applier.js';
import { SnapshotEncoder, decodeSnapshot, encodeSnapshot } from '../src/runtime/snapshot-codec.js';
import { MemoryStorage } from '../src/storage/index.js';
import { snapshotFile } from '../src/storage/snapshot-file.js';
import { tmpDir } from './support/storage-files.js';
import { waitFor } from './support/wait.js';

afterAll(() => {
  expect(liveWorkers()).toBe(0);
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const LEDGER = new URL('./fixtures/ledger-machine.ts', import.meta.url);

async function settled(c: Cluster, applied: number): Promise<ClusterStats> {
  await waitFor(`every replica applied ${applied} slots`, async () => (await c.stats()).replicas.every((r) => r !== null && r.applier.next_slot === applied));
  return c.stats();
}

/** Every live replica's snapshot now: one index, one sequence of bytes. */
async function sameSnapshots(c: Cluster, ids: number[]): Promise<{ index: number; bytes: Buffer }> {
  const snaps = await Promise.all(ids.map((i) => c.snapshot(i)));
  const first = snaps[0] as { index: number; bytes: Uint8Array };
  for (const s of snaps) {
    expect(s.index).toBe(first.index);
    expect(Buffer.from(s.bytes).equals(Buffer.from(first.bytes))).toBe(true);
  }
  return { index: first.index, bytes: Buffer.from(first.bytes) };
}

describe('the same state on every replica, byte for byte', () => {
  it('after snapshots, after a restart that restores one, after catching up by one, after a whole-cluster restart on compacted logs', async () => {
    const dir = tmpDir();
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'leader', seed: 1, storage: { dir }, snapshotEvery: 10, tuning: { retainDecided: 4 } });
    try {
      for (let i = 0; i < 60; i++) await c.propose(`a${i}`);
      let s = await settled(c, 60);
      // A snapshot at every 10 commands, at the same slots on every replica.
      expect(s.replicas.map((r) => [r?.snapshot.taken, r?.snapshot.index])).toEqual([[6, 60], [6, 60], [6, 60]]);
      const at60 = await sameSnapshots(c, [0, 1, 2]);
      expect(at60.index).toBe(60);
      // On demand: durable, and the log compacted below it.
      expect(s.replicas.map((r) => r?.storage.compactions)).toEqual([0, 0, 0]);
      s = await c.stats();
      expect(s.replicas.map((r) => r?.storage.compactions)).toEqual([1, 1, 1]);

      // Replica 2 goes down; 40 more commands go by, far past the others' retained window.
      await c.crash(2);
      for (let i = 0; i < 40; i++) await c.propose(`b${i}`, { via: i % 2 });
      await c.restart(2);
      s = await settled(c, 100);
      const r2 = s.replicas[2];
      expect(r2?.snapshot.restored).toBe(60);
      expect(r2?.snapshot.installed).toBe(1);
      expect(r2?.replica.snapshotsInstalled).toBe(1);
      expect(s.behind).toEqual([0, 0, 0]);
      const at100 = await sameSnapshots(c, [0, 1, 2]);
      expect(at100.index).toBe(100);

      // Every replica down at once, then up on its snapshot and compacted log: the same state, and it goes on.
      for (const i of [0, 1, 2]) await c.crash(i);
      for (const i of [0, 1, 2]) await c.restart(i);
      s = await c.stats();
      expect(s.replicas.map((r) => r?.snapshot.restored)).toEqual([100, 100, 100]);
      expect(s.replicas.map((r) => r?.applier.next_slot)).toEqual([100, 100, 100]);
      const again = await sameSnapshots(c, [0, 1, 2]);
      expect(again.bytes.equals(at100.bytes)).toBe(true);
      const { slot } = await c.propose('after');
      expect(slot).toBe(100);
      await settled(c, 101);
      await sameSnapshots(c, [0, 1, 2]);
      // The readable decided log starts at the snapshot a replica restored.
      const log = await c.decidedLog(0, 0);
      expect(log.from).toBe(100);
      expect(log.values).toEqual([expect.stringMatching(/:after$/) as unknown as string]);
    } finally {
      await c.close();
    }
  });
});

describe('with a state machine: its state is in the snapshot, restored at a restart and by a catch-up', () => {
  it('the ledger: every replica has the same balances and snapshot bytes; a replica behind the window gets them by snapshot; a stale read there answers from them', async () => {
    const dir = tmpDir();
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'leader', seed: 4, storage: { dir }, snapshotEvery: 10, tuning: { retainDecided: 4 }, stateMachine: LEDGER });
    try {
      for (let i = 0; i < 30; i++) await c.propose({ op: 'add', account: `a${i % 3}`, amount: i });
      await settled(c, 30);
      await c.crash(2);
      for (let i = 30; i < 60; i++) await c.propose({ op: 'add', account: `a${i % 3}`, amount: i }, { via: i % 2 });
      await c.restart(2);
      const s = await settled(c, 60);
      expect(s.replicas[2]?.snapshot).toMatchObject({ restored: 30, installed: 1 });
      const all = await sameSnapshots(c, [0, 1, 2]);
      const digest = JSON.stringify({ commands: 60, balances: [['a0', 570], ['a1', 590], ['a2', 610]] });
      // The snapshot ends with the state machine's own bytes: its digest.
      expect(all.bytes.subarray(all.bytes.length - digest.length).toString()).toBe(digest);
      const read = await c.read<string>({ op: 'digest' }, { consistency: 'stale', via: 2 });
      expect(read.answer).toBe(digest);
      expect(read.appliedIndex).toBe(60);
    } finally {
      await c.close();
    }
  });

  it('a module without snapshot() and restore() is refused at start with snapshots on, and runs with snapshotEvery 0', async () => {
    const href = new URL('./fixtures/sm-no-snapshot.ts', import.meta.url);
    await expect(Cluster.start({ replicas: 3, runtime: 'inline', stateMachine: href })).rejects.toThrow(
      new RegExp(`^stateMachine ${escape(href.href)}: snapshots need snapshot\\(\\) and restore\\(bytes\\) on the state machine \\(or snapshotEvery: 0\\)$`),
    );
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', stateMachine: href, snapshotEvery: 0 });
    try {
      expect((await c.propose({ n: 1 })).result).toBe(1);
    } finally {
      await c.close();
    }
  });
});

describe("the applier's state in a snapshot", () => {
  it('a restored applier dedupes what the snapshot holds (client ids, load streams), applies what is new, and encodes to the same bytes', () => {
    const applied: string[] = [];
    const a = new Applier((x) => void applied.push(x.requestId), 3);
    const d = (slot: number, value: string) => ({ slot, value, ballots: 0 });
    a.learned([d(0, 'c1:x'), d(1, 'c2:y'), d(2, ''), d(3, '~L.0:z'), d(4, '~L.2:z'), d(5, 'c3:w'), d(6, 'c4:w')]);
    // A window of 3 client ids: c1 has been evicted.
    const bytes = encodeSnapshot(a.exportState(), new Uint8Array([1, 2, 3]));
    const decoded = decodeSnapshot(bytes);
    expect([...decoded.app]).toEqual([1, 2, 3]);
    expect(decoded.applier).toMatchObject({ index: 7, commands_total: 6, ids: ['c2', 'c3', 'c4'], slots: [1, 5, 6] });
    expect([...decoded.applier.streams]).toEqual([['L', { low: 1, above: [2] }]]);
    const later: string[] = [];
    const b = new Applier((x) => void later.push(x.requestId), 3);
    b.restoreState(decoded.applier);
    expect(encodeSnapshot(b.exportState(), new Uint8Array([1, 2, 3])).equals(bytes)).toBe(true);
    b.learned([d(7, 'c3:again'), d(8, '~L.2:again'), d(9, '~L.1:new'), d(10, 'c5:new'), d(11, 'c1:evicted')]);
    expect(later).toEqual(['~L.1', 'c5', 'c1']);
    expect(b.stats).toMatchObject({ next_slot: 12, duplicates: 2, applied: 3 });
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 1))).toThrow('the application state runs past the end');
    expect(() => decodeSnapshot(Buffer.from('not a snapshot'))).toThrow('not a synod snapshot (bad magic)');
  });
});

describe('taking a snapshot does not stop applying: the dedupe window is captured copy on write', () => {
  for (const [what, before] of [['a full window', 120], ['a window not full yet', 45]] as const) {
    it(`${what}: encoded a few entries at a time while applying evicts them, the bytes are those of the state at the capture`, () => {
      const a = new Applier(() => {}, 50);
      let slot = 0;
      const apply = (n: number): void => a.learned(Array.from({ length: n }, () => ({ slot, value: `id${slot++}:p`, ballots: 0 })));
      apply(before);
      const atCapture = encodeSnapshot(a.exportState(), new Uint8Array([9]));
      const c = a.captureState();
      const enc = new SnapshotEncoder({ ...c, app: new Uint8Array([9]) });
      let steps = 0;
      // Between two steps of 3 entries, 11 commands are applied (each evicts the oldest id once the window is full).
      while (!enc.step(3)) {
        apply(11);
        steps++;
      }
      a.releaseCapture();
      expect(steps).toBe(Math.ceil(Math.min(before, 50) / 3) - 1);
      expect(enc.finish().equals(atCapture)).toBe(true);
      // The applier went on as if nothing had been read.
      expect(decodeSnapshot(encodeSnapshot(a.exportState(), new Uint8Array(0))).applier.ids).toEqual(Array.from({ length: 50 }, (_, k) => `id${slot - 50 + k}`));
    });
  }
});

describe('catch-up by snapshot', () => {
  it('a replica partitioned beyond the retained window catches up by snapshot once the partition heals', async () => {
    const CHUNK = 256;
    const c = await Cluster.start({ replicas: 3, policy: 'leader', seed: 3, faults: true, snapshotEvery: 20, tuning: { retainDecided: 8, snapshotChunk_chars: CHUNK } });
    try {
      await c.propose('first', { via: 0 });
      await settled(c, 1);
      c.faults.partition([[0, 1], [2]]);
      for (let i = 0; i < 300; i++) await c.propose(`v${i}`, { via: i % 2 });
      let s = await c.stats();
      expect(s.replicas.map((r) => r?.applier.next_slot)).toEqual([301, 301, 1]);
      expect(s.behind).toEqual([0, 0, 300]);
      // The others kept 8 slots below their frontier and everything from their latest snapshot (at 300): not slot 1.
      expect(s.replicas.map((r) => r?.snapshot.index)).toEqual([300, 300, -1]);
      c.faults.heal();
      s = await settled(c, 301);
      expect(s.behind).toEqual([0, 0, 0]);
      const r2 = s.replicas[2];
      expect(r2?.snapshot.installed).toBe(1);
      expect(r2?.snapshot.index).toBe(300);
      // Pulled one chunk at a time: exactly the chunks of one snapshot, from whichever peer sent them.
      expect(r2?.replica.snapshotChunksReceived).toBe(Math.ceil((r2?.snapshot.bytes ?? 0) / CHUNK));
      expect((s.replicas[0]?.replica.snapshotChunksSent ?? 0) + (s.replicas[1]?.replica.snapshotChunksSent ?? 0)).toBeGreaterThanOrEqual(r2?.replica.snapshotChunksReceived ?? 0);
      const all = await sameSnapshots(c, [0, 1, 2]);
      expect(all.index).toBe(301);
    } finally {
      await c.close();
    }
  });
});

describe('a snapshot that does not restore is a clear error, and nothing is lost', () => {
  it("the state machine's restore() throws: a restart on its own snapshot is refused, files untouched; a catch-up by a peer's is refused, the replica untouched", async () => {
    const dir = tmpDir();
    const REFUSES = new URL('./fixtures/sm-restore-refuses.ts', import.meta.url);
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'leader', seed: 6, storage: { dir }, snapshotEvery: 1000, tuning: { retainDecided: 4 }, stateMachine: REFUSES });
    try {
      for (let i = 0; i < 20; i++) await c.propose({ i });
      await settled(c, 20);
      // Replica 2 falls behind without a snapshot of its own; 0 and 1 take one past it and forget below.
      await c.crash(2);
      for (let i = 0; i < 20; i++) await c.propose({ i }, { via: 0 });
      await c.snapshot(0);
      await c.snapshot(1);
      await c.restart(2);
      await waitFor("replica 2 refusing the peers' snapshot", async () => ((await c.stats()).replicas[2]?.snapshot.restore_failures ?? 0) >= 1);
      const s = await c.stats();
      expect(s.replicas[2]?.snapshot.last_error).toBe(
        'replica 2: the snapshot at 40 from a peer does not restore: snapshot format v2 is not one this build reads; the replica keeps its state and stays behind',
      );
      expect(s.replicas[2]?.applier.next_slot).toBe(20);
      expect(s.replicas[2]?.storage.snapshots_saved).toBe(0);
      expect(s.behind).toEqual([0, 0, 20]);
      // Replica 1 restarting on its own snapshot: refused, its files as they were.
      await c.crash(1);
      const snap = readFileSync(snapshotFile(dir, 1));
      const log = readFileSync(join(dir, 'replica-1.log'));
      await expect(c.restart(1)).rejects.toThrow(
        `replica 1: its snapshot at 40 (${snapshotFile(dir, 1)}) does not restore: snapshot format v2 is not one this build reads; refusing to start (nothing was changed)`,
      );
      expect(readFileSync(snapshotFile(dir, 1)).equals(snap)).toBe(true);
      expect(readFileSync(join(dir, 'replica-1.log')).equals(log)).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('at restart: a damaged snapshot file is refused naming it, left as it was; put back, the replica restarts and catches up', async () => {
    const dir = tmpDir();
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'leader', seed: 2, storage: { dir }, snapshotEvery: 1000, tuning: { retainDecided: 4 } });
    try {
      for (let i = 0; i < 20; i++) await c.propose(`a${i}`);
      await settled(c, 20);
      await c.snapshot(1);
      await c.crash(1);
      const path = snapshotFile(dir, 1);
      const good = readFileSync(path);
      const bad = Buffer.from(good);
      bad[good.length - 3] = (bad[good.length - 3] as number) ^ 0x20;
      writeFileSync(path, bad);
      await expect(c.restart(1)).rejects.toThrow(new RegExp(`^storage ${escape(path)}: snapshot body checksum mismatch; refusing to start \\(nothing was changed\\)$`));
      expect(readFileSync(path).equals(bad)).toBe(true);
      expect(c.isUp(1)).toBe(false);
      // The others go on.
      for (let i = 0; i < 10; i++) await c.propose(`b${i}`, { via: 0 });
      writeFileSync(path, good);
      await c.restart(1);
      const s = await settled(c, 30);
      expect(s.replicas[1]?.snapshot.restored).toBe(20);
    } finally {
      await c.close();
    }
  });

  it('from a peer: an application state this replica cannot restore is refused with a one-line error; its state, log and snapshot are untouched, and it keeps voting', async () => {
    /** An application whose snapshot is its format tag: `v2` replicas write what `v1` ones cannot read. */
    const app = (version: string): AppSource => ({
      snapshot: () => Buffer.from(`${version}:state`),
      restore: (bytes) => {
        const text = Buffer.from(bytes).toString();
        if (!text.startsWith(`${version}:`)) throw new Error(`unknown snapshot format '${text.split(':')[0]}' (this build reads ${version})`);
        return { adopt: () => {} };
      },
    });
    const hub = new InlineHub(3);
    const storages = [new MemoryStorage(), new MemoryStorage(), new MemoryStorage()];
    const cfg = (id: number): HostConfig => ({ id, nodes: 3, policy: policySpec('leader'), storage: storages[id] as MemoryStorage, seed: 5, tuning: { retainDecided: 4, sync_ms: 20 }, observe: false, snapshotEvery: 10 });
    const hosts: ReplicaHost[] = [0, 1].map((id) => new ReplicaHost(cfg(id), new InlineTransport(id, hub), { app: app('v2') }));
    try {
      const replies: unknown[] = [];
      hosts[0]?.setClientOut((b) => void replies.push(b));
      hosts[0]?.clientIn(Array.from({ length: 40 }, (_, i) => [Op.Propose, `id${i}`, `p${i}`]).flat());
      await waitFor('40 commands applied on replicas 0 and 1', () => hosts.every((h) => h.stats().applier.next_slot === 40));
      // Replica 2 joins, behind the others' window: it is sent their snapshot, which holds a v2 application state.
      const late = new ReplicaHost(cfg(2), new InlineTransport(2, hub), { app: app('v1') });
      hosts.push(late);
      await waitFor('the snapshot refused', () => late.stats().snapshot.restore_failures === 1);
      const st = late.stats();
      expect(st.snapshot.last_error).toBe(
        "replica 2: the snapshot at 40 from a peer does not restore: unknown snapshot format 'v2' (this build reads v1); the replica keeps its state and stays behind",
      );
      expect(st.applier.next_slot).toBe(0);
      expect(st.snapshot.installed).toBe(0);
      expect(st.storage.snapshots_saved).toBe(0);
      expect(storages[2]?.loadSnapshot()).toBeNull();
      expect(storages[2]?.load().some((r) => r.k === 'mark')).toBe(false);
      // Still an acceptor: with replica 1 gone, replicas 0 and 2 decide.
      hosts[1]?.close();
      hosts[0]?.clientIn([Op.Propose, 'after', 'x']);
      await waitFor('a decision with replica 2 voting', () => (hosts[0]?.stats().applier.next_slot ?? 0) === 41);
      expect(late.stats().snapshot.restore_failures).toBe(1);
    } finally {
      for (const h of hosts) h.close();
      hub.close();
    }
  });
});

describe('a snapshot from a peer that arrives damaged', () => {
  it('is fetched again (not refused for good); one that is whole but does not decode is refused', () => {
    const refused: number[] = [];
    const installed: number[] = [];
    const core: SnapshotCore = {
      snapshotTaken: () => {}, snapshotInstalled: (h) => void installed.push(h.index), snapshotRefused: (i) => void refused.push(i),
      durableState: () => [], closed: false,
    };
    const app: AppSource = { snapshot: () => Buffer.alloc(0), restore: () => ({ adopt: () => {} }) };
    const snaps = new Snapshots(2, new MemoryStorage(), app, (e) => { throw e; });
    snaps.attach(core);
    const applier = new Applier(() => {});
    const data = 'not a snapshot';
    const crc = crc32(Buffer.from(data, 'latin1'));
    expect(snaps.install({ index: 5, data, crc: (crc + 1) >>> 0 }, applier)).toBe(false);
    expect(refused).toEqual([]);
    expect(snaps.stats.restore_failures).toBe(1);
    expect(snaps.stats.last_error).toBe(`replica 2: the snapshot at 5 from a peer arrived damaged (checksum ${crc}, the sender said ${(crc + 1) >>> 0}); it is fetched again`);
    expect(snaps.install({ index: 5, data, crc }, applier)).toBe(false);
    expect(refused).toEqual([5]);
    expect(installed).toEqual([]);
    expect(snaps.stats.restore_failures).toBe(2);
    expect(applier.stats.next_slot).toBe(0);
  });
});
