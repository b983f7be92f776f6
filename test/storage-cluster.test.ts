/**
 * Storage faults through the public API: a damaged or lost log keeps its
 * replica down (the others go on), and a failed fsync stops the replica
 * before it acknowledges anything that is not durable.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, ReplicaDownError, type Proposed, type ReplicaFailureEvent } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import { encode } from '../src/paxos/codec.js';
import { MsgType } from '../src/paxos/messages.js';
import { Replica } from '../src/paxos/replica.js';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { ReplicaDriver } from '../src/runtime/driver.js';
import { emptyTransportStats, type Transport } from '../src/runtime/transport.js';
import { markerFile, readLog, replicaFile, type Storage } from '../src/storage/index.js';
import { emptyStorageStats } from '../src/storage/storage.js';
import { tmpDir } from './support/storage-files.js';

afterAll(() => {
  expect(liveWorkers()).toBe(0);
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Polls `ok` every 25 ms, at most 400 times. */
async function waitFor(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let t = 0; t < 400; t++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a damaged or lost log keeps its replica down', () => {
  it('200 proposals, a byte flipped a third of the way into replica 1\'s log: its restart is refused naming the file, the file is unchanged, the others go on', async () => {
    const dir = tmpDir();
    const c = await Cluster.start({ replicas: 3, policy: 'leader', storage: { dir, fsync: 'batch' }, seed: 3 });
    try {
      const first = await Promise.all(Array.from({ length: 200 }, (_, k) => c.propose(`v${k}`, { via: k % 3 })));
      expect(first.length).toBe(200);
      await c.crash(1);
      const path = replicaFile(dir, 1);
      const bytes = readFileSync(path);
      const at = Math.floor(bytes.length / 3);
      bytes[at] = (bytes[at] as number) ^ 0x01;
      writeFileSync(path, bytes);
      await expect(c.restart(1)).rejects.toThrow(new RegExp(`^replica 1 worker failed: storage ${escape(path)}: corrupt at byte \\d+: .*refusing to start \\(nothing was cut\\)$`));
      expect(c.isUp(1)).toBe(false);
      expect(readFileSync(path).equals(bytes)).toBe(true);
      const after = await Promise.all(Array.from({ length: 10 }, (_, k) => c.propose(`w${k}`, { via: k % 2 === 0 ? 0 : 2 })));
      expect(after.map((p) => p.replica).filter((r) => r === 1)).toEqual([]);
      expect(after.length).toBe(10);
    } finally {
      await c.close();
    }
  });

  it('a replica whose log is gone is refused: on restart (marker, and without it the cluster\'s word) and on a new start (marker)', async () => {
    const dir = tmpDir();
    const opts = { replicas: 3, runtime: 'inline' as const, policy: 'leader', storage: { dir, fsync: 'batch' as const }, seed: 4 };
    const c = await Cluster.start(opts);
    try {
      await Promise.all(Array.from({ length: 20 }, (_, k) => c.propose(`v${k}`, { via: k % 3 })));
      await c.crash(2);
      rmSync(replicaFile(dir, 2));
      await expect(c.restart(2)).rejects.toThrow(/^storage .*replica-2\.log: this replica ran before \(its marker .*replica-2\.marker says so\) but its log is missing/);
      rmSync(markerFile(dir, 2));
      await expect(c.restart(2)).rejects.toThrow(/this replica ran before \(this cluster started it before\) but its log is missing/);
      expect(c.isUp(2)).toBe(false);
      expect((await c.propose('still', { via: 0 })).replica).toBe(0);
    } finally {
      await c.close();
    }
    rmSync(replicaFile(dir, 1));
    await expect(Cluster.start(opts)).rejects.toThrow(/replica-1\.log: this replica ran before \(its marker .*replica-1\.marker says so\) but its log is missing/);
  });
});

describe('a failed fsync stops the replica', () => {
  it('the driver: the first append that throws stops it for good: nothing of that turn is sent, no retry, no more turns', async () => {
    const sent: unknown[] = [];
    const transport: Transport = { id: 0, stats: emptyTransportStats(), setReceiver: () => {}, send: (to, w) => void sent.push([to, w]), flush: () => {}, close: () => {} };
    const appended: PersistRecord[][] = [];
    const eio = new Error('EIO: i/o error, fsync');
    const storage: Storage = {
      stats: emptyStorageStats(),
      load: () => [],
      loadSnapshot: () => null,
      append: (r) => {
        appended.push([...r]);
        if (appended.length === 2) throw eio;
      },
      saveSnapshot: () => {},
      compact: () => {},
      close: () => {},
    };
    const fatal: Error[] = [];
    const replica = Replica.start({ id: 0, nodes: 3, policy: createPolicy(policySpec('immediate')), random: () => 0.5 }, 0);
    const d = new ReplicaDriver(0, replica, storage, transport, () => {}, { onFatal: (e) => void fatal.push(e), now: () => 0, eagerTurns: false });
    d.propose('a');
    await waitFor('the first append', () => appended.length === 1);
    const sentBefore = sent.length;
    expect(sentBefore).toBeGreaterThan(0); // the prepares of slot 0, after their promise and round were stored
    // Promises from both peers: the replica votes (an append that fails) and would send its accepts.
    const [, prepare] = sent[0] as [number, unknown[]];
    const ballot = prepare[2] as number;
    const promise = encode({ t: MsgType.Promise, slot: 0, ballot, open: false, votes: [] });
    d.deliverTuples(1, [promise]);
    await waitFor('the failing append', () => fatal.length > 0);
    expect(fatal).toEqual([eio]);
    expect(appended.length).toBe(2);
    expect(sent.length).toBe(sentBefore);
    expect(d.propose('b')).toBe(false);
    d.deliverTuples(2, [promise]);
    // A live driver would run that input on its next setImmediate turn: let two go by.
    for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    expect(appended.length).toBe(2);
    expect(sent.length).toBe(sentBefore);
  });

  /** One replica: every acknowledgement needs its own accept durable, so an ack after the failure would show. */
  for (const runtime of ['workers', 'inline'] as const) {
    it(`${runtime}: EIO on a log fsync -> 'replica-failed' with the error, later proposals refused, every acknowledged value durable`, async () => {
      const dir = tmpDir();
      const c = await Cluster.start({ replicas: 1, runtime, policy: 'leader', storage: { dir, fsync: 'batch', fault: { replica: 0, failFsyncAfter: 20 } }, seed: 5 });
      const failures: ReplicaFailureEvent[] = [];
      c.on('replica-failed', (e) => failures.push(e));
      const acked: Proposed[] = [];
      let refused: unknown = null;
      try {
        for (let k = 0; k < 60 && refused === null; k++) {
          try {
            acked.push(await c.propose(`v${k}`));
          } catch (e) {
            refused = e;
          }
        }
        expect(refused).toBeInstanceOf(ReplicaDownError);
        await waitFor('the failure event', () => failures.length > 0);
        expect(failures.length).toBe(1);
        expect(failures[0]).toMatchObject({ replica: 0, kind: 'error' });
        expect(failures[0]?.detail).toMatch(/^storage .*replica-0\.log: write or fsync failed \(EIO: i\/o error, fsync \(injected\)\); the replica stops, without a retry/);
        expect(c.isUp(0)).toBe(false);
        await expect(c.propose('after')).rejects.toBeInstanceOf(ReplicaDownError);
        // Sequential proposals: each acknowledgement took at least one of the 20 good fsyncs.
        expect(acked.length).toBeGreaterThan(0);
        expect(acked.length).toBeLessThanOrEqual(20);
      } finally {
        await c.close();
      }
      // The injected failure dropped what was written after the last good fsync: the file holds only what was durable.
      const durable = new Set(readLog(readFileSync(replicaFile(dir, 0))).records.flatMap((r) => (r.k === 'accept' ? [r.value] : [])));
      for (const p of acked) expect(durable.has(`${p.requestId}:${p.value}`)).toBe(true);
    });
  }

  it('the test-only fault option is checked like every option, before anything starts', async () => {
    const dir = tmpDir();
    await expect(Cluster.start({ replicas: 3, storage: { dir, fault: { replica: 3, failFsyncAfter: 1 } } })).rejects.toThrow(/^storage\.fault\.replica must be an integer in 0\.\.2, got 3$/);
    await expect(Cluster.start({ replicas: 3, storage: { dir, fault: { replica: 0, failFsyncAfter: -1 } } })).rejects.toThrow(/^storage\.fault\.failFsyncAfter must be an integer in 0\.\.2147483647, got -1$/);
    expect(liveWorkers()).toBe(0);
  });

  it('inline, 3 replicas: replica 1 fails alone, the process and the other two go on and agree', async () => {
    const dir = tmpDir();
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'leader', storage: { dir, fsync: 'batch', fault: { replica: 1, failFsyncAfter: 5 } }, seed: 6 });
    const failures: ReplicaFailureEvent[] = [];
    c.on('replica-failed', (e) => failures.push(e));
    try {
      const all: Proposed[] = [];
      for (let k = 0; k < 30; k++) all.push(await c.propose(`v${k}`, { via: k % 3 }));
      expect(failures.map((f) => [f.replica, f.kind])).toEqual([[1, 'error']]);
      expect(failures[0]?.detail).toMatch(/replica-1\.log: write or fsync failed \(EIO/);
      expect(c.isUp(1)).toBe(false);
      const top = Math.max(...all.map((p) => p.slot));
      let logs: string[][] = [];
      await waitFor('replicas 0 and 2 to apply every slot', async () => {
        logs = await Promise.all([0, 2].map(async (i) => (await c.decidedLog(i)).values));
        return logs.every((l) => l.length > top);
      });
      expect((logs[0] as string[]).slice(0, top + 1)).toEqual((logs[1] as string[]).slice(0, top + 1));
      for (const p of all) expect((logs[0] as string[])[p.slot]).toBe(`${p.requestId}:${p.value}`);
    } finally {
      await c.close();
    }
  });
});
