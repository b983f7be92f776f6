/**
 * The nemesis: partitions, pauses, crashes and restarts on a seeded schedule,
 * against a cluster started with `faults`. Used by chaos runs (src/chaos/run.ts)
 * and by the benchmark's fault flags. At most a minority is ever crashed at
 * once, a paused replica is never crashed (a crash should find a running
 * thread), and `lift()` undoes everything: heal, clear link faults, resume,
 * restart what is down.
 */
import type { Cluster } from '../cluster/index.js';
import { SeededRandom } from '../base/random.js';

export interface NemesisOptions {
  /** 0: never. A partition lasts half its period; a crashed replica restarts after half its period. */
  partitionEvery_ms: number;
  pauseEvery_ms: number;
  pause_ms: number;
  crashEvery_ms: number;
  /** 0 or absent: never. Every replica crashes at once (no memory survives anywhere), then all restart on their files; the next is due this long after the last one started, once every replica is up again. */
  crashAllEvery_ms?: number;
}

export interface NemesisReport {
  partitions: number;
  pauses: number;
  crashes: number;
  /** Whole-cluster crashes (each also counts its replicas in `crashes`). */
  wholeCrashes: number;
  /** Whole-cluster crashes due while a replica was down and not about to restart (failed on its own, or its restart failed): not run, and said in `errors`. */
  wholeCrashesSkipped: number;
  restarts: number;
  /** Control-plane errors (reported, not violations); the first few. */
  errors: string[];
  /** Replicas restarted (their counters start again from zero). */
  restarted: Set<number>;
}

/** The nemesis loop's tick: its schedule is no finer than this. */
const TICK_MS = 10;
const MAX_ERRORS = 10;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function shuffled(rnd: SeededRandom, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

export function emptyNemesisReport(): NemesisReport {
  return { partitions: 0, pauses: 0, crashes: 0, wholeCrashes: 0, wholeCrashesSkipped: 0, restarts: 0, errors: [], restarted: new Set() };
}

export class Nemesis {
  private readonly paused = new Set<number>();
  private report: NemesisReport = emptyNemesisReport();
  private stopped = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: NemesisOptions,
    private readonly rnd: SeededRandom,
  ) {
    if ((opts.crashEvery_ms > 0 || (opts.crashAllEvery_ms ?? 0) > 0) && cluster.options.storage.kind !== 'file') {
      throw new RangeError('crashes need file storage (a memory replica cannot restart)');
    }
  }

  /** Starts a fresh report (the next run's counters). */
  reset(): NemesisReport {
    this.report = emptyNemesisReport();
    this.stopped = false;
    return this.report;
  }

  /** Ends run() at its next tick. */
  stop(): void {
    this.stopped = true;
  }

  private note = (e: unknown): void => {
    const r = this.report;
    if (r.errors.length < MAX_ERRORS) r.errors.push((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '');
  };

  /** Runs the schedule until `end` (performance.now() time) or stop(); resolves once its pauses are over. */
  async run(end: number): Promise<NemesisReport> {
    const o = this.opts;
    const c = this.cluster;
    const nem = this.report;
    const n = c.size;
    const maxDown = Math.floor((n - 1) / 2);
    const crashAll = o.crashAllEvery_ms ?? 0;
    const next = { partition: o.partitionEvery_ms, pause: o.pauseEvery_ms, crash: o.crashEvery_ms, crashAll };
    const t0 = performance.now();
    let healAt = Number.POSITIVE_INFINITY;
    const restartAt = new Map<number, number>();
    const pending: Promise<unknown>[] = [];
    while (performance.now() < end && !this.stopped) {
      const t = performance.now() - t0;
      if (t >= healAt) {
        healAt = Number.POSITIVE_INFINITY;
        await c.faults.heal().catch(this.note);
      }
      for (const [i, at] of restartAt) {
        if (t >= at) {
          restartAt.delete(i);
          await this.restart(i);
        }
      }
      if (o.partitionEvery_ms > 0 && t >= next.partition) {
        next.partition += o.partitionEvery_ms;
        // A random split: a minority of 1..n/2 replicas cut off from the rest.
        const ids = shuffled(this.rnd, n);
        const cut = this.rnd.int(1, Math.floor(n / 2));
        await c.faults.partition([ids.slice(0, cut), ids.slice(cut)]).catch(this.note);
        nem.partitions++;
        healAt = t + o.partitionEvery_ms / 2;
      }
      if (o.pauseEvery_ms > 0 && t >= next.pause) {
        next.pause += o.pauseEvery_ms;
        const i = this.rnd.int(0, n - 1);
        if (c.isUp(i) && !this.paused.has(i)) {
          nem.pauses++;
          this.paused.add(i);
          // Not awaited: a pause resolves when the replica runs again.
          pending.push(
            c.faults
              .pause(i, o.pause_ms)
              .catch(this.note)
              .finally(() => this.paused.delete(i)),
          );
        }
      }
      if (crashAll > 0 && t >= next.crashAll && this.paused.size === 0) {
        // Only with every replica up, or it would not be whole: one about to restart delays it a tick; one down for
        // good (failed on its own, or its restart failed) skips it, and the report says so.
        const notUp = this.notUp();
        if (notUp.length === 0) {
          next.crashAll = t + crashAll;
          await this.crashEveryReplica(t + Math.min(crashAll / 4, 500), restartAt);
        } else if (!notUp.every((i) => restartAt.has(i))) {
          next.crashAll = t + crashAll;
          nem.wholeCrashesSkipped++;
          this.note(new Error(`whole-cluster crash skipped: replica ${notUp.join(', ')} not up`));
        }
      }
      if (o.crashEvery_ms > 0 && t >= next.crash) {
        next.crash += o.crashEvery_ms;
        const i = this.rnd.int(0, n - 1);
        // A minority down at most, counting replicas that went down on their own.
        if (c.isUp(i) && !this.paused.has(i) && this.notUp().length < maxDown) {
          nem.crashes++;
          await c.crash(i).catch(this.note);
          restartAt.set(i, t + o.crashEvery_ms / 2);
        }
      }
      await sleep(TICK_MS);
    }
    await Promise.all(pending);
    return nem;
  }

  /**
   * Every replica down at once: what was acknowledged must come back from the
   * files alone (learners are volatile, so the restarted replicas refill every
   * slot from their votes). All restart at `restartAt`.
   */
  private async crashEveryReplica(restartAt_ms: number, restartAt: Map<number, number>): Promise<void> {
    const c = this.cluster;
    this.report.wholeCrashes++;
    for (let i = 0; i < c.size; i++) {
      this.report.crashes++;
      await c.crash(i).catch(this.note);
      restartAt.set(i, restartAt_ms);
    }
  }

  private notUp(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.cluster.size; i++) if (!this.cluster.isUp(i)) out.push(i);
    return out;
  }

  private async restart(i: number): Promise<void> {
    try {
      await this.cluster.restart(i);
      this.report.restarts++;
      this.report.restarted.add(i);
    } catch (e) {
      this.note(e);
    }
  }

  /** Heals, clears the link faults, resumes every replica and restarts every one that is down (ours, or down on its own). */
  async lift(): Promise<void> {
    const c = this.cluster;
    await c.faults.heal().catch(this.note);
    await c.faults.set({}).catch(this.note);
    for (let i = 0; i < c.size; i++) c.faults.resume(i);
    for (const i of this.notUp()) await this.restart(i);
  }
}
