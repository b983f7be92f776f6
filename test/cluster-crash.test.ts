/** Crash a replica mid-run and restart it on its file: nothing accepted or decided is lost or changed. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Cluster } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import { readLog, replicaFile } from '../src/storage/index.js';
import { waitFor } from './support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'synod-crash-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(liveWorkers()).toBe(0);
});

const records = (i: number): string[] => readLog(readFileSync(replicaFile(dir, i))).records.map((r) => JSON.stringify(r));

it('crash mid-run, restart on file storage: logs agree and keep growing with a majority up', async () => {
  const c = await Cluster.start({ replicas: 3, policy: 'exponential', storage: { dir, fsync: 'batch' }, seed: 11, timeout_ms: 2000 });
  try {
    const first = await Promise.all(Array.from({ length: 30 }, (_, k) => c.propose(`a${k}`, { via: k % 3 })));
    // Crash replica 2 while proposals (some via 2) are in flight: they retry elsewhere under the same request id.
    const during = Array.from({ length: 30 }, (_, k) => c.propose(`b${k}`, { via: k % 3 }));
    await c.crash(2);
    const onDisk = records(2);
    expect(onDisk.some((r) => r.includes('"accept"'))).toBe(true);
    const mid = await Promise.all(during);
    const more = await Promise.all(Array.from({ length: 10 }, (_, k) => c.propose(`c${k}`, { via: k % 2 })));
    await c.restart(2);
    expect(c.isUp(2)).toBe(true);
    // Its promises and votes were replayed, not lost: the file still starts with what it held at the crash.
    expect(records(2).slice(0, onDisk.length)).toEqual(onDisk);
    const last = await Promise.all(Array.from({ length: 15 }, (_, k) => c.propose(`d${k}`, { via: k % 3 })));
    const all = [...first, ...mid, ...more, ...last];
    const top = Math.max(...all.map((r) => r.slot));
    let logs: string[][] = [];
    for (let t = 0; t < 200; t++) {
      logs = await Promise.all([0, 1, 2].map(async (i) => (await c.decidedLog(i)).values));
      if (logs.every((l) => l.length > top)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const ref = (logs[0] as string[]).slice(0, top + 1);
    for (const l of logs) expect(l.slice(0, top + 1)).toEqual(ref);
    // Every proposal applied once, in the slot it was reported in (a retried one is applied once: dedupe by request id).
    for (const r of all) expect(ref[r.slot]).toBe(`${r.requestId}:${r.value}`);
    const applied = ref.filter((v) => v !== '').map((v) => v.slice(0, v.indexOf(':')));
    const distinct = new Set(applied);
    expect(distinct.size).toBe(all.length);
    const s = await c.stats();
    expect(s.replicas[2]!.applier.applied).toBe(all.length);
  } finally {
    await c.close();
  }
});

it('one lifecycle change per replica at a time: overlapping restarts, or a restart before the crash finished, are refused', async () => {
  const d2 = mkdtempSync(join(tmpdir(), 'synod-lock-'));
  const c = await Cluster.start({ replicas: 3, policy: 'leader', storage: { dir: d2, fsync: 'batch' }, seed: 5 });
  try {
    await c.propose('x');
    const crashing = c.crash(1);
    await expect(c.restart(1)).rejects.toThrow(/still crashing or restarting/);
    await crashing;
    const first = c.restart(1);
    await expect(c.restart(1)).rejects.toThrow(/still crashing or restarting/);
    await first;
    expect(c.isUp(1)).toBe(true);
    await c.propose('y', { via: 1 });
  } finally {
    await c.close();
    rmSync(d2, { recursive: true, force: true });
  }
});

it('close() rejects proposals still waiting in the client queue', async () => {
  const c = await Cluster.start({ replicas: 3, policy: 'leader', runtime: 'inline', maxInFlight: 1 });
  const outcomes = [0, 1, 2].map((i) => c.propose(`v${i}`).then(() => 'decided', (e: Error) => e.message));
  await c.close();
  const settled = await Promise.race([Promise.all(outcomes), new Promise<string>((r) => setTimeout(() => r('still pending'), 2000))]);
  expect(settled).not.toBe('still pending');
  expect((settled as string[]).slice(1).every((o) => /closed|stopped/.test(o))).toBe(true);
});

it('every replica crashed at once: what was acknowledged comes back from the files alone, and a retried request stays applied once', async () => {
  const d3 = mkdtempSync(join(tmpdir(), 'synod-all-'));
  // A long attempt timeout: replica 1 must not re-forward its request on its own while this test watches.
  // A short client timeout with many retries: the cut request gives up on replica 1 soon, and proposals
  // made while a leader is being elected (at the start, after the restart) are retried until one leads.
  const c = await Cluster.start({ replicas: 3, policy: 'leader', storage: { dir: d3, fsync: 'batch' }, seed: 3, timeout_ms: 300, retries: 20, faults: true, tuning: { attemptTimeout_ms: 10_000 } });
  try {
    const first = await Promise.all(Array.from({ length: 20 }, (_, k) => c.propose(`a${k}`, { via: k % 3 })));
    // Replica 1 hears nobody: the request it forwards is decided, but it never learns so and its client times out.
    await c.faults.set({ links: [{ from: 0, to: 1, drop: 1 }, { from: 2, to: 1, drop: 1 }] });
    const retried = await c.propose('retried', { via: 1 });
    // The retry went to replica 2, which had applied that request id already: it answered with the slot, proposing nothing.
    expect(retried).toMatchObject({ replica: 2, attempts: 2, value: 'retried' });
    await c.faults.set({});
    // All three down at once: nothing survives in memory, so every promise and vote must come back from the files.
    for (const i of [0, 1, 2]) await c.crash(i);
    expect([0, 1, 2].map((i) => c.isUp(i))).toEqual([false, false, false]);
    for (const i of [0, 1, 2]) await c.restart(i);
    const after = await Promise.all(Array.from({ length: 10 }, (_, k) => c.propose(`b${k}`, { via: k % 3 })));
    const all = [...first, retried, ...after];
    const top = Math.max(...all.map((r) => r.slot));
    let logs: string[][] = [];
    await waitFor('every log to reach the last acknowledged slot', async () => {
      logs = await Promise.all([0, 1, 2].map(async (i) => (await c.decidedLog(i)).values));
      return logs.every((l) => l.length > top);
    });
    const ref = (logs[0] as string[]).slice(0, top + 1);
    for (const l of logs) expect(l.slice(0, top + 1)).toEqual(ref);
    for (const r of all) expect(ref[r.slot]).toBe(`${r.requestId}:${r.value}`);
    // Exactly the acknowledged requests were decided (a retry may be decided twice, and is then applied once);
    // the cut request is in the log once, at the slot its first attempt got.
    const raw = ref.filter((v) => v !== '');
    const ids = raw.map((v) => v.slice(0, v.indexOf(':')));
    expect(new Set(ids)).toEqual(new Set(all.map((r) => r.requestId)));
    expect(ids.filter((id) => id === retried.requestId)).toHaveLength(1);
    for (const rep of (await c.stats()).replicas) {
      expect(rep?.applier.applied).toBe(all.length);
      expect(rep?.applier.duplicates).toBe(raw.length - all.length);
    }
  } finally {
    await c.close();
    rmSync(d3, { recursive: true, force: true });
  }
});

it('a restarted replica comes back with the faults in force: still cut off until heal()', async () => {
  const d4 = mkdtempSync(join(tmpdir(), 'synod-faults-'));
  const c = await Cluster.start({ replicas: 3, policy: 'exponential', storage: { dir: d4, fsync: 'batch' }, seed: 9, timeout_ms: 300, retries: 0, faults: true });
  try {
    await c.propose('before', { via: 2 });
    await c.faults.partition([[0, 1], [2]]);
    await c.crash(2);
    await c.restart(2);
    // Alone on its side of the partition, the restarted replica cannot get anything decided.
    await expect(c.propose('alone', { via: 2 })).rejects.toThrow('replica 2: no decision within 300 ms');
    expect((await c.faults.stats())[2]?.partitioned).toBeGreaterThan(0);
    await c.faults.heal();
    // Healed, it decides again (each try asks replica 2 only: retries 0).
    await waitFor('a decision through replica 2 after heal()', () => c.propose('healed', { via: 2 }).then((r) => r.replica === 2, () => false));
  } finally {
    await c.close();
    rmSync(d4, { recursive: true, force: true });
  }
});
