/**
 * (From an independent review.) A whole-cluster crash waits until every
 * replica is up, or it would not be whole. A replica that stays down for good
 * (its restart fails every time, or it failed on its own: a worker error, an
 * fsync EIO) used to block every later whole crash silently: the rounds after
 * it reported no crash and no error, and lift() did not restart a replica the
 * nemesis had not crashed. Now such a whole crash is skipped and said
 * (`wholeCrashesSkipped`, an error naming the replica), single crashes count
 * every replica not up against the minority bound, and lift() restarts every
 * replica that is down.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/base/random.js';
import { Nemesis } from '../src/chaos/nemesis.js';
import type { Cluster } from '../src/cluster/index.js';

/** Enough of a Cluster for the nemesis: replicas that crash and restart at once, `broken` ones never restart. */
function fakeCluster(n: number, broken: Set<number>) {
  const up = Array.from({ length: n }, () => true);
  const c = {
    options: { storage: { kind: 'file' } },
    size: n,
    isUp: (i: number) => up[i] === true,
    crash: async (i: number) => {
      if (!up[i]) throw new Error(`replica ${i} is down`);
      up[i] = false;
    },
    restart: async (i: number) => {
      if (up[i]) throw new Error(`replica ${i} is up; crash it first`);
      if (broken.has(i)) throw new Error(`storage replica-${i}.log: EIO`);
      up[i] = true;
    },
    faults: { heal: async () => {}, partition: async () => {}, pause: async () => {}, set: async () => {}, resume: () => {} },
  };
  return { cluster: c as unknown as Cluster, up };
}

const ROUND_MS = 600;
const OPTS = { partitionEvery_ms: 0, pauseEvery_ms: 0, pause_ms: 0, crashEvery_ms: 0, crashAllEvery_ms: 100 };

async function round(nem: Nemesis) {
  const report = nem.reset();
  await nem.run(performance.now() + ROUND_MS);
  await nem.lift();
  return { wholeCrashes: report.wholeCrashes, skipped: report.wholeCrashesSkipped, crashes: report.crashes, restarts: report.restarts, errors: [...report.errors] };
}

describe('a whole crash that cannot run is reported, every round', () => {
  it('a replica whose restart always fails: every later whole crash due is skipped and said, in every round', async () => {
    const broken = new Set<number>();
    const { cluster } = fakeCluster(3, broken);
    const nem = new Nemesis(cluster, OPTS, new SeededRandom(1));
    const first = await round(nem);
    expect(first.wholeCrashes).toBeGreaterThanOrEqual(3); // healthy: one every ~100 ms
    expect(first.skipped).toBe(0);
    expect(first.errors).toEqual([]);
    broken.add(1);
    const second = await round(nem);
    // The one that ran, then its restart failed: the whole crashes due after it are skipped, each said.
    expect(second.wholeCrashes).toBe(1);
    expect(second.restarts).toBe(2);
    expect(second.skipped).toBeGreaterThanOrEqual(1);
    expect(second.errors).toContain('storage replica-1.log: EIO');
    expect(second.errors).toContain('whole-cluster crash skipped: replica 1 not up');
    const third = await round(nem);
    expect({ wholeCrashes: third.wholeCrashes, crashes: third.crashes, restarts: third.restarts }).toEqual({ wholeCrashes: 0, crashes: 0, restarts: 0 });
    expect(third.skipped).toBeGreaterThanOrEqual(3);
    expect(third.errors).toContain('whole-cluster crash skipped: replica 1 not up');
    // lift() tried the restart again (and said it failed).
    expect(third.errors).toContain('storage replica-1.log: EIO');
  });

  it('a replica that failed on its own (not crashed by the nemesis): the whole crashes are skipped and said, and lift() restarts it', async () => {
    const { cluster, up } = fakeCluster(3, new Set());
    up[2] = false; // 'replica-failed': the cluster marks it down, the nemesis never crashed it
    const nem = new Nemesis(cluster, OPTS, new SeededRandom(1));
    const r = await round(nem);
    expect({ wholeCrashes: r.wholeCrashes, crashes: r.crashes }).toEqual({ wholeCrashes: 0, crashes: 0 });
    expect(r.skipped).toBeGreaterThanOrEqual(3);
    expect(r.errors[0]).toBe('whole-cluster crash skipped: replica 2 not up');
    // lift() restarts every replica that is down, so the next round is whole again.
    expect(cluster.isUp(2)).toBe(true);
    expect(r.restarts).toBe(1);
    const next = await round(nem);
    expect(next.wholeCrashes).toBeGreaterThanOrEqual(3);
    expect(next.skipped).toBe(0);
  });

  it('single crashes count a replica that went down on its own against the minority bound', async () => {
    const { cluster, up } = fakeCluster(3, new Set());
    up[0] = false;
    const nem = new Nemesis(cluster, { ...OPTS, crashAllEvery_ms: 0, crashEvery_ms: 50 }, new SeededRandom(1));
    const report = nem.reset();
    let majorityDown = false;
    const watch = setInterval(() => {
      if ([0, 1, 2].filter((i) => !cluster.isUp(i)).length > 1) majorityDown = true;
    }, 1);
    await nem.run(performance.now() + 400);
    clearInterval(watch);
    expect(report.crashes).toBe(0);
    expect(majorityDown).toBe(false);
  });
});
