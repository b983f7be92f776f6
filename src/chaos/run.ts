/**
 * A chaos run: a cluster in chaos mode, closed-loop clients on the main
 * thread using the log as a key-value map, and a nemesis that partitions,
 * pauses, crashes and restarts replicas on a seeded schedule while the link
 * faults (drop, delay, duplicate, reorder) stay on. Then faults are lifted,
 * the cluster settles, and the history is checked (history.ts).
 *
 * A session keeps one cluster across rounds (the soak runs many rounds on the
 * same workers, to see their memory over time); each round uses its own keys
 * and forgets its history once checked, so memory here stays bounded too.
 */
import { Cluster } from '../cluster/index.js';
import type { ReplicaTuning } from '../runtime/host.js';
import { SeededRandom } from '../sim/random.js';
import type { FsyncMode } from '../storage/storage.js';
import type { FaultSpec, FaultStats } from './faults.js';
import { History, encodeOp, type Violation } from './history.js';
import type { KvInput } from './linearizability.js';

export interface ChaosOptions {
  replicas: number;
  policy: string;
  seed: number;
  /** Link faults kept on during each round. */
  faults: FaultSpec;
  /** Nemesis periods (0 or absent: never). A partition or a crash lasts about half its period. */
  partitionEvery_ms?: number;
  pauseEvery_ms?: number;
  pause_ms?: number;
  crashEvery_ms?: number;
  /** 'memory' cannot restart a crashed worker, so crashes need a dir. */
  storage?: 'memory' | { dir: string; fsync: FsyncMode };
  clients?: number;
  keys?: number;
  /** Per-attempt client timeout (an op that runs out of retries is recorded as unknown). */
  timeout_ms?: number;
  tuning?: ReplicaTuning;
}

export interface RoundReport {
  policy: string;
  replicas: number;
  duration_ms: number;
  ops: number;
  ok: number;
  unknown: number;
  linearizability: 'ok' | 'illegal' | 'unknown';
  lin_steps: number;
  violations: Violation[];
  violation_count: number;
  nemesis: { partitions: number; pauses: number; crashes: number; restarts: number; errors: string[] };
  faults: FaultStats;
  /** Slots checked for agreement this round. */
  slots: number;
  /** The core's own count of Decides that contradicted what it had learned (live replicas, since their start). */
  core_conflicts: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function shuffled(rnd: SeededRandom, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}
/** How long a round waits for the replicas to converge after faults are lifted. */
const SETTLE_MS_MAX = 10_000;
/** Nemesis errors kept per round (they are reported, not violations). */
const MAX_NEMESIS_ERRORS = 10;

export class ChaosSession {
  private history: History;
  private round = 0;
  private rnd: SeededRandom;
  private readonly down = new Set<number>();
  /** Replicas stalled now: never crashed while stalled (a crash should find a running thread). */
  private readonly paused = new Set<number>();

  private constructor(
    readonly cluster: Cluster,
    readonly opts: ChaosOptions,
  ) {
    this.rnd = new SeededRandom(opts.seed);
    this.history = new History(opts.replicas);
    cluster.on('decided', (e) => this.history.decided(e.replica, e.slot, e.requestId, e.value));
  }

  static async start(opts: ChaosOptions): Promise<ChaosSession> {
    if ((opts.crashEvery_ms ?? 0) > 0 && (opts.storage ?? 'memory') === 'memory') throw new RangeError('crashes need file storage (a memory replica cannot restart)');
    const cluster = await Cluster.start({
      replicas: opts.replicas,
      policy: opts.policy,
      seed: opts.seed,
      faults: true,
      storage: opts.storage ?? 'memory',
      timeout_ms: opts.timeout_ms ?? 1000,
      retries: 3,
      maxInFlight: 64,
      ...(opts.tuning === undefined ? {} : { tuning: opts.tuning }),
    });
    return new ChaosSession(cluster, opts);
  }

  /** Replica heaps (bytes; null for a replica that is down). */
  async heaps(): Promise<(number | null)[]> {
    const s = await this.cluster.stats();
    return s.replicas.map((r) => r?.heap_used_bytes ?? null);
  }

  async runRound(duration_ms: number): Promise<RoundReport> {
    const o = this.opts;
    const c = this.cluster;
    const round = this.round++;
    const history = new History(o.replicas);
    // The previous round's per-replica maps are dropped: this round's keys are new, and agreement of old slots was checked.
    this.history = history;
    const startSlots = await this.nextSlots();
    await c.faults.set(o.faults);
    const t0 = performance.now();
    const end = t0 + duration_ms;
    const nem = { partitions: 0, pauses: 0, crashes: 0, restarts: 0, errors: [] as string[] };
    const note = (e: unknown): void => {
      if (nem.errors.length < MAX_NEMESIS_ERRORS) nem.errors.push((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '');
    };
    const clients = Array.from({ length: o.clients ?? 6 }, (_, k) => this.client(k, round, end, history, new SeededRandom(o.seed * 31 + round * 1009 + k)));
    const nemesis = this.nemesis(end, nem, note);
    await Promise.all([...clients, nemesis]);
    // Lift every fault, bring crashed replicas back, and let the logs converge before checking.
    await c.faults.heal().catch(note);
    await c.faults.set({}).catch(note);
    for (let i = 0; i < o.replicas; i++) c.faults.resume(i);
    for (const i of [...this.down]) await this.restart(i, nem, note);
    const faults = await this.faultTotals();
    const logs = await this.settle(history, startSlots);
    history.checkAgreement(logs);
    history.checkRealTime();
    const lin = history.checkLinearizable();
    const s = history.summary();
    const st = await c.stats();
    const core_conflicts = st.replicas.reduce((m, r) => m + (r?.replica.conflictingDecides ?? 0), 0);
    return {
      policy: o.policy,
      replicas: o.replicas,
      duration_ms: performance.now() - t0,
      ops: s.ops,
      ok: s.ok,
      unknown: s.unknown + s.pending,
      linearizability: lin.result,
      lin_steps: lin.steps,
      violations: history.violations,
      violation_count: history.violationTotal,
      nemesis: nem,
      faults,
      slots: logs.reduce((m, l) => Math.max(m, l === null ? 0 : l.values.length), 0),
      core_conflicts,
    };
  }

  private async client(k: number, round: number, end: number, h: History, rnd: SeededRandom): Promise<void> {
    const o = this.opts;
    let seq = 0;
    while (performance.now() < end) {
      const key = `r${round}k${rnd.int(0, (o.keys ?? 3) - 1)}`;
      const input: KvInput = rnd.chance(0.5) ? { op: 'put', key, value: `c${k}.${seq++}` } : { op: 'get', key };
      const via = rnd.int(0, o.replicas - 1);
      const rec = h.invoke(k, input);
      try {
        const r = await this.cluster.propose(encodeOp(input), { via });
        h.ok(rec, r);
      } catch (e) {
        h.unknown(rec, e);
        // Everything down or overloaded: do not spin.
        await sleep(5);
      }
    }
  }

  private async nemesis(end: number, nem: RoundReport['nemesis'], note: (e: unknown) => void): Promise<void> {
    const o = this.opts;
    const c = this.cluster;
    const n = o.replicas;
    const maxDown = Math.floor((n - 1) / 2);
    const every = { partition: o.partitionEvery_ms ?? 0, pause: o.pauseEvery_ms ?? 0, crash: o.crashEvery_ms ?? 0 };
    const next = { partition: every.partition, pause: every.pause, crash: every.crash };
    const t0 = performance.now();
    let healAt = Number.POSITIVE_INFINITY;
    const restartAt = new Map<number, number>();
    const pending: Promise<unknown>[] = [];
    while (performance.now() < end) {
      const t = performance.now() - t0;
      if (t >= healAt) {
        healAt = Number.POSITIVE_INFINITY;
        await c.faults.heal().catch(note);
      }
      for (const [i, at] of restartAt) {
        if (t >= at) {
          restartAt.delete(i);
          await this.restart(i, nem, note);
        }
      }
      if (every.partition > 0 && t >= next.partition) {
        next.partition += every.partition;
        // A random split: sometimes a minority cut off, sometimes one replica alone.
        const ids = shuffled(this.rnd, n);
        const cut = this.rnd.int(1, Math.floor(n / 2));
        await c.faults.partition([ids.slice(0, cut), ids.slice(cut)]).catch(note);
        nem.partitions++;
        healAt = t + every.partition / 2;
      }
      if (every.pause > 0 && t >= next.pause) {
        next.pause += every.pause;
        const i = this.rnd.int(0, n - 1);
        if (c.isUp(i) && !this.paused.has(i)) {
          nem.pauses++;
          this.paused.add(i);
          // Not awaited: the pause resolves when the replica runs again.
          pending.push(
            c.faults
              .pause(i, o.pause_ms ?? 200)
              .catch(note)
              .finally(() => this.paused.delete(i)),
          );
        }
      }
      if (every.crash > 0 && t >= next.crash) {
        next.crash += every.crash;
        const i = this.rnd.int(0, n - 1);
        if (c.isUp(i) && !this.paused.has(i) && this.down.size < maxDown) {
          this.down.add(i);
          nem.crashes++;
          await c.crash(i).catch(note);
          restartAt.set(i, t + every.crash / 2);
        }
      }
      await sleep(10);
    }
    await Promise.all(pending);
  }

  private async restart(i: number, nem: RoundReport['nemesis'], note: (e: unknown) => void): Promise<void> {
    try {
      await this.cluster.restart(i);
      this.down.delete(i);
      nem.restarts++;
    } catch (e) {
      note(e);
    }
  }

  private async nextSlots(): Promise<number[]> {
    const s = await this.cluster.stats();
    return s.replicas.map((r) => r?.applier.next_slot ?? 0);
  }

  private async faultTotals(): Promise<FaultStats> {
    const all = await this.cluster.faults.stats();
    const sum: Record<string, number> = {};
    for (const f of all) if (f !== null) for (const [k, v] of Object.entries(f)) sum[k] = (sum[k] ?? 0) + v;
    return sum as unknown as FaultStats;
  }

  /** Waits until every replica's log reaches the highest slot any op was acknowledged in; returns the logs from this round's start. */
  private async settle(h: History, startSlots: number[]): Promise<({ replica: number; from: number; values: string[] } | null)[]> {
    const top = h.ops.reduce((m, op) => Math.max(m, op.slot), -1);
    const from = Math.min(...startSlots);
    const t0 = performance.now();
    let logs: ({ replica: number; from: number; values: string[] } | null)[] = [];
    for (;;) {
      logs = await Promise.all(
        Array.from({ length: this.opts.replicas }, (_, i) =>
          this.cluster.isUp(i)
            ? this.cluster.decidedLog(i, from).then(
                (l) => ({ replica: i, ...l }),
                () => null,
              )
            : null,
        ),
      );
      const done = logs.every((l) => l === null || l.from + l.values.length > top);
      if (done || performance.now() - t0 > SETTLE_MS_MAX) return logs;
      await sleep(25);
    }
  }

  async close(): Promise<void> {
    for (let i = 0; i < this.opts.replicas; i++) this.cluster.faults.resume(i);
    await this.cluster.close();
  }
}
