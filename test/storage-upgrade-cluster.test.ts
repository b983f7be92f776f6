/**
 * the upgrade to log format version 3 through the
 * public API. test/fixtures/v2-cluster holds the logs and markers a
 * real 3-replica cluster of the previous build (commit 1e61cbd, format
 * version 2; policy leader, fsync batch, 200 acknowledged proposals, then
 * every replica crashed) left, and what it acknowledged (acked.json).
 * Opened by this build with Cluster.start on a copy: every acknowledged value
 * is at its slot on every replica, each log is version 3 (holding runs), and
 * after more proposals and another whole-cluster crash everything is still there.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, type Proposed } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import { readLog, replicaFile } from '../src/storage/index.js';
import { settledLogs } from './support/wait.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'v2-cluster');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  expect(liveWorkers()).toBe(0);
});


type Acked = Pick<Proposed, 'slot' | 'requestId' | 'value'>;

async function expectAll(c: Cluster, acked: readonly Acked[]): Promise<void> {
  const top = Math.max(...acked.map((p) => p.slot));
  const logs = await settledLogs(c, top);
  for (const l of logs) for (const p of acked) expect(l[p.slot], `slot ${p.slot}`).toBe(`${p.requestId}:${p.value}`);
}

describe('a real version-2 cluster directory opened by this build', () => {
  it('every acknowledged value survives the rewrite to version 3, and a later whole-cluster crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'synod-upgrade-'));
    dirs.push(dir);
    cpSync(FIXTURE, dir, { recursive: true });
    const acked = JSON.parse(readFileSync(join(dir, 'acked.json'), 'utf8')) as Acked[];
    expect(acked.length).toBe(200);
    const old = [0, 1, 2].map((i) => readLog(readFileSync(replicaFile(dir, i))));
    for (const r of old) expect(r.version).toBe(2);
    // The old followers wrote several votes per batch (the batches a version-3 build writes as runs).
    expect(Math.max(...old.map((r) => r.records.length / r.batches))).toBeGreaterThan(1);

    const opts = { replicas: 3, policy: 'leader', storage: { dir, fsync: 'batch' as const }, seed: 7 };
    const c = await Cluster.start(opts);
    const all: Acked[] = [...acked];
    try {
      for (const i of [0, 1, 2]) {
        const r = readLog(readFileSync(replicaFile(dir, i)));
        expect(r.version).toBe(3);
        // Nothing lost in the rewrite: the old records are all still there (the new build may have appended since).
        expect(r.records.slice(0, (old[i] as { records: unknown[] }).records.length)).toEqual((old[i] as { records: unknown[] }).records);
        // The rewritten segment (the first batch, at byte 40) holds runs: fewer records than the votes it carries.
        expect(readFileSync(replicaFile(dir, i)).readUInt32LE(40 + 20)).toBeLessThan((old[i] as { records: unknown[] }).records.length / 2);
      }
      await expectAll(c, acked);
      for (let round = 0; round < 2; round++) {
        all.push(...(await Promise.all(Array.from({ length: 40 }, (_, k) => c.propose(`new-${round}-${k}-😀`, { via: k % 3 })))));
      }
      await Promise.all([0, 1, 2].map((i) => c.crash(i)));
      for (const i of [0, 1, 2]) await c.restart(i);
      await expectAll(c, all);
    } finally {
      await c.close();
    }
    const c2 = await Cluster.start(opts);
    try {
      await expectAll(c2, all);
    } finally {
      await c2.close();
    }
  }, 120_000);
});
