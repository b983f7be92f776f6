/**
 * Review 4, concern 5: a whole-cluster crash now waits until every replica is
 * up (401689b). A replica that stays down for good (its restart fails every
 * time, or it failed on its own: a worker error, an fsync EIO) then blocks
 * every later whole crash, and with 3 replicas every single crash too
 * (maxDown 1). The nemesis reports the failed restart once, in the round it
 * happened; the rounds after it run with no crash at all and report nothing:
 * no error, crashes 0/0, and `npm run chaos` prints no whole-crash count and
 * exits 0. A replica that failed on its own is never reported, and lift()
 * does not restart it (it is not in the nemesis' `down` set).
 *
 * The second test FAILS on purpose until the nemesis says so: a round in
 * which a whole crash was due but could not run must say why (here: in
 * `errors`; a counter such as wholeCrashesSkipped would do as well).
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
  return { wholeCrashes: report.wholeCrashes, crashes: report.crashes, restarts: report.restarts, errors: [...report.errors] };
}

describe('review4: a whole crash that cannot run is reported, every round', () => {
  it('a replica whose restart always fails: the rounds after it run no crash; only the restart error is reported (documents today)', async () => {
    const broken = new Set<number>();
    const { cluster } = fakeCluster(3, broken);
    const nem = new Nemesis(cluster, OPTS, new SeededRandom(1));
    const first = await round(nem);
    expect(first.wholeCrashes).toBeGreaterThanOrEqual(3); // healthy: one every ~100 ms
    broken.add(1);
    const second = await round(nem);
    // The failure is reported in the round it happened (restart, then lift's retry).
    expect(second.wholeCrashes).toBe(1);
    expect(second.restarts).toBe(2);
    expect(second.errors.length).toBeGreaterThan(0);
    const third = await round(nem);
    // Every later round crashes nothing; what it reports is lift's retry of the restart (the same EIO), not that
    // the ~5 whole crashes it was asked for did not run (and `npm run chaos` prints no whole-crash count, exits 0).
    expect(third).toEqual({ wholeCrashes: 0, crashes: 0, restarts: 0, errors: ['storage replica-1.log: EIO'] });
  });

  it('FAILING: a replica that failed on its own (not crashed by the nemesis): no whole crash ever, and nothing in the report', async () => {
    const { cluster, up } = fakeCluster(3, new Set());
    up[2] = false; // 'replica-failed': the cluster marks it down, the nemesis never hears of it
    const nem = new Nemesis(cluster, OPTS, new SeededRandom(1));
    const r = await round(nem);
    expect({ wholeCrashes: r.wholeCrashes, crashes: r.crashes }).toEqual({ wholeCrashes: 0, crashes: 0 });
    // lift() restarts only what the nemesis crashed: the replica stays down into the next round.
    expect(cluster.isUp(2)).toBe(false);
    expect(r.errors.join('\n'), JSON.stringify(r)).toMatch(/whole|down|not up/i);
  });
});
