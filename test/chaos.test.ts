/**
 * Chaos runs on the real worker runtime: link faults (drop, delay, duplicate,
 * reorder) all the time, plus partitions, pauses, crashes and restarts, with
 * every contention policy on 3 and 5 replicas. Each run's history is checked
 * (agreement, durable, real-time, linearizable): zero violations. A run with a
 * planted bug (a quorum one too small) must be flagged, so a pass means something.
 *
 * Budget: a few seconds per run, three runs at a time (runs are mostly
 * waiting on delays and timeouts, so they overlap well on 2 cores).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChaosSession, type ChaosOptions, type RoundReport } from '../src/chaos/run.js';
import { Cluster, POLICY_NAMES } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';

const dir = mkdtempSync(join(tmpdir(), 'synod-chaos-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(liveWorkers()).toBe(0);
});

const LINK_FAULTS = { drop: 0.05, delay_ms: [0, 2] as const, duplicate: 0.02, reorder: 0.05 };

async function chaos(opts: ChaosOptions, duration_ms: number): Promise<RoundReport> {
  const s = await ChaosSession.start(opts);
  try {
    return await s.runRound(duration_ms);
  } finally {
    await s.close();
  }
}

/** Runs `jobs` three at a time (runs mostly wait on delays and timeouts). */
async function fewAtATime<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < jobs.length; i += 3) out.push(...(await Promise.all(jobs.slice(i, i + 3).map((j) => j()))));
  return out;
}

function expectClean(r: RoundReport): void {
  const label = `${r.policy} x${r.replicas}: ${JSON.stringify(r.violations.slice(0, 3))} ${r.lin_detail}`;
  expect(r.violation_count, label).toBe(0);
  expect(r.core_conflicts, label).toBe(0);
  expect(r.linearizability, label).toBe('ok');
  expect(r.ok, label).toBeGreaterThan(0);
}

/** Each run (not their sum) really had each fault applied. */
function expectFaulted(r: RoundReport, nemesis: readonly ('partitions' | 'pauses' | 'crashes')[]): void {
  const label = `${r.policy} x${r.replicas}: ${JSON.stringify({ faults: r.faults, nemesis: r.nemesis })}`;
  expect(r.faults.dropped, label).toBeGreaterThan(0);
  expect(r.faults.delayed, label).toBeGreaterThan(0);
  expect(r.faults.duplicated, label).toBeGreaterThan(0);
  expect(r.faults.reordered, label).toBeGreaterThan(0);
  for (const n of nemesis) expect(r.nemesis[n], label).toBeGreaterThan(0);
}

describe('fault layer API', () => {
  it('is absent unless asked for, and validates specs before any worker starts', async () => {
    await expect(Cluster.start({ replicas: 3, faults: { drop: 2 } })).rejects.toThrow(/faults.drop must be a probability/);
    await expect(Cluster.start({ replicas: 3, faults: { delay_ms: [5, 1] } })).rejects.toThrow(/delay_ms/);
    await expect(Cluster.start({ replicas: 3, faults: { links: [{ from: 0, to: 7, drop: 1 }] } })).rejects.toThrow(/links\[0\]\.to/);
    await expect(Cluster.start({ replicas: 3, runtime: 'inline', faults: true })).rejects.toThrow(/workers/);
    const plain = await Cluster.start({ replicas: 3, runtime: 'inline' });
    try {
      expect(() => plain.faults).toThrow(/without faults/);
    } finally {
      await plain.close();
    }
    expect(liveWorkers()).toBe(0);
  });

  it('partition cuts a minority off; heal lets it catch up; pause stalls a replica and returns', async () => {
    const c = await Cluster.start({ replicas: 3, faults: true, seed: 3, timeout_ms: 300, retries: 0 });
    try {
      await expect(c.faults.partition([[0, 1], [1, 2]])).rejects.toThrow(/two groups/);
      await c.faults.partition([[0, 1], [2]]);
      const a = await c.propose('a', { via: 0 });
      // Replica 2 alone cannot decide anything.
      await expect(c.propose('b', { via: 2 })).rejects.toThrow(/no decision/);
      await c.faults.heal();
      const b = await c.propose('c', { via: 2 });
      expect(b.slot).toBeGreaterThan(a.slot);
      const t0 = performance.now();
      await c.faults.pause(1, 150);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
      // resume() cuts a long pause short.
      const long = c.faults.pause(1, 10_000);
      setTimeout(() => c.faults.resume(1), 50);
      await long;
      expect(performance.now() - t0).toBeLessThan(5000);
      const st = await c.faults.stats();
      expect(st[2]?.partitioned ?? 0).toBeGreaterThan(0);
      expect(st[1]?.stalls).toBe(2);
    } finally {
      await c.close();
    }
  });
});

describe('chaos runs: zero violations under faults', () => {
  for (const replicas of [3, 5]) {
    it(`${replicas} replicas, every policy: link faults, partitions, pauses`, async () => {
      const reports = await fewAtATime(
        POLICY_NAMES.map(
          (policy, k) => () =>
            chaos({ replicas, policy, seed: 100 + k + replicas, faults: LINK_FAULTS, partitionEvery_ms: 600, pauseEvery_ms: 400, pause_ms: 80, timeout_ms: 400 }, 1500),
        ),
      );
      expect(reports).toHaveLength(POLICY_NAMES.length);
      for (const r of reports) {
        expectClean(r);
        expectFaulted(r, ['partitions', 'pauses']);
        expect(r.faults.partitioned, r.policy).toBeGreaterThan(0);
      }
    });
  }

  it('crash and restart on file storage under load and faults: no decided value lost or changed', async () => {
    const reports = await fewAtATime(
      [
        { replicas: 3, policy: 'leader' },
        { replicas: 5, policy: 'exponential' },
      ].map(
        (o, k) => () =>
          chaos(
            { ...o, seed: 7 + k, faults: LINK_FAULTS, crashEvery_ms: 700, pauseEvery_ms: 500, pause_ms: 80, storage: { dir: join(dir, `crash${k}`), fsync: 'batch' }, timeout_ms: 400 },
            2800,
          ),
      ),
    );
    expect(reports).toHaveLength(2);
    for (const r of reports) {
      expectClean(r);
      expectFaulted(r, ['crashes', 'pauses']);
      expect(r.nemesis.restarts).toBe(r.nemesis.crashes);
    }
  });

  it('whole-cluster crashes under load and link faults (issue 11): every replica down at once, all restart, nothing acknowledged lost', async () => {
    const reports = await fewAtATime(
      [
        { replicas: 3, policy: 'exponential' },
        { replicas: 3, policy: 'leader' },
      ].map(
        (o, k) => () =>
          chaos({ ...o, seed: 17 + k, faults: LINK_FAULTS, crashAllEvery_ms: 900, storage: { dir: join(dir, `all${k}`), fsync: 'batch' }, timeout_ms: 400 }, 2800),
      ),
    );
    expect(reports).toHaveLength(2);
    for (const r of reports) {
      expectClean(r);
      // How many fit in the round depends on how fast workers restart; at least one always does.
      const label = `${r.policy}: ${JSON.stringify(r.nemesis)}`;
      expect(r.nemesis.wholeCrashes, label).toBeGreaterThanOrEqual(1);
      // Each whole crash took down all three replicas (it waits until all are up), and each came back.
      expect(r.nemesis.crashes, label).toBe(3 * r.nemesis.wholeCrashes);
      expect(r.nemesis.restarts, label).toBe(r.nemesis.crashes);
    }
  });
});

describe('the checks can fail', () => {
  it('a planted bug (quorum one too small) under partitions is flagged', async () => {
    const r = await chaos({ replicas: 3, policy: 'immediate', seed: 5, faults: { delay_ms: [0, 2] }, partitionEvery_ms: 300, timeout_ms: 300, tuning: { bugs: { quorumOneTooSmall: true } } }, 1500);
    expect(r.violation_count).toBeGreaterThan(0);
    expect(r.violations.some((v) => v.check === 'agreement' || v.check === 'linearizable')).toBe(true);
  });
});
