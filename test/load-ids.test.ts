/**
 * The load generator's request ids are numeric sequence numbers in a stream
 * (`~<replica>-<incarnation>.<seq>`), deduplicated per stream by number. The
 * trap (issue 12): a restarted replica counts from 0 again, and if its stream
 * were the dead incarnation's, every new proposal would be taken for a
 * duplicate of an old one and dropped. A new incarnation is a new stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  expect(liveWorkers()).toBe(0);
});

/** Waits until every replica reports `applied` commands (bounded), then returns the applier stats. */
async function appliedEverywhere(c: Cluster, applied: number): Promise<Array<{ applied: number; duplicates: number }>> {
  let seen: Array<{ applied: number; duplicates: number }> = [];
  for (let t = 0; t < 400; t++) {
    const s = await c.stats();
    seen = s.replicas.map((r) => ({ applied: r?.applier.applied ?? -1, duplicates: r?.applier.duplicates ?? -1 }));
    if (seen.every((x) => x.applied >= applied)) return seen;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not every replica applied ${applied}: ${JSON.stringify(seen)}`);
}

describe('load ids across a restart', () => {
  for (const policy of ['exponential', 'leader'] as const) {
    it(`${policy}: a restarted replica's new proposals (seq from 0 again) are applied, none taken for a duplicate`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'synod-loadids-'));
      dirs.push(dir);
      const c = await Cluster.start({ replicas: 3, policy, storage: { dir, fsync: 'batch' }, seed: 5 });
      try {
        const before = await c.runLoad(0, { proposals: 40, concurrency: 4, timeout_ms: 20_000 });
        expect(before.decided).toBe(40);
        await appliedEverywhere(c, 40);
        await c.crash(0);
        await c.restart(0);
        const after = await c.runLoad(0, { proposals: 40, concurrency: 4, timeout_ms: 20_000 });
        expect(after.decided).toBe(40);
        // The restarted replica re-applies its log from slot 0; the others counted since they started.
        expect(await appliedEverywhere(c, 80)).toEqual([0, 1, 2].map(() => ({ applied: 80, duplicates: 0 })));
      } finally {
        await c.close();
      }
    }, 60_000);
  }
});
