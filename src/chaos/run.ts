/**
 * A chaos run: a cluster in chaos mode, closed-loop clients on the main
 * thread using the log as a key-value map, and a nemesis that partitions,
 * pauses, crashes and restarts replicas on a seeded schedule while the link
 * faults (drop, delay, duplicate, reorder) stay on. Then faults are lifted,
 * the cluster settles, and the history is checked (history.ts).
 *
 * With `reads`, the cluster runs the key-value store of examples/kv.ts as its
 * state machine: a put is its command, and a get is a read of the consistency
 * drawn from `reads` (checked as part of the same history).
 *
 * A session keeps one cluster across rounds (the soak runs many rounds on the
 * same workers, to see their memory over time); each round uses its own keys
 * and forgets its history once checked, so memory here stays bounded too.
 */
import { Cluster, type ReadConsistency } from '../cluster/index.js';
import type { ReplicaTuning } from '../runtime/host.js';
import { SeededRandom } from '../base/random.js';
import type { FsyncMode } from '../storage/storage.js';
import { emptyFaultStats, type FaultSpec, type FaultStats } from '../runtime/fault-transport.js';
import { History, encodeOp, type Violation } from '../verify/history.js';
import { Nemesis, type NemesisReport } from './nemesis.js';
import type { KvInput } from '../verify/kv-models.js';
import type { CheckOptions } from '../verify/linearizability.js';

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
  /** Every replica crashes at once, then all restart on their files (file storage). */
  crashAllEvery_ms?: number;
  /** 'memory' cannot restart a crashed worker, so crashes need a dir. */
  storage?: 'memory' | { dir: string; fsync: FsyncMode };
  clients?: number;
  keys?: number;
  /** Per-attempt client timeout (an op that runs out of retries is recorded as unknown). */
  timeout_ms?: number;
  tuning?: ReplicaTuning;
  /** Each replica snapshots every this many applied commands (the cluster's option; absent: its default). */
  snapshotEvery?: number;
  /**
   * Gets are reads of the KV example's state machine, each with a consistency
   * drawn from this list ('lease' only under policy lease; 'stale' is not
   * linearizable, so it is refused). Absent: gets go through the log.
   */
  reads?: ReadConsistency[];
  /** Budget of each round's linearizability check (steps per key, time per round). */
  linearizability?: Pick<CheckOptions, 'maxSteps' | 'maxMs'>;
}

/** The KV example (a URL, not an import: the tools never import examples): .ts under tsx, .js once built. */
export const KV_MACHINE = new URL(import.meta.url.endsWith('.ts') ? '../../examples/kv.ts' : '../../examples/kv.js', import.meta.url);

export interface RoundReport {
  policy: string;
  replicas: number;
  duration_ms: number;
  ops: number;
  ok: number;
  unknown: number;
  /** `unknown`: the check's budget ran out, so the round is not proven; callers must not count it as passed. */
  linearizability: 'ok' | 'illegal' | 'unknown';
  /** Why it is not ok (which key, how far the search got); '' when ok. */
  lin_detail: string;
  lin_steps: number;
  violations: Violation[];
  violation_count: number;
  /** `restarted`: replicas restarted this round (their counters start again from zero). */
  nemesis: NemesisReport;
  faults: FaultStats;
  /** Slots checked for agreement this round. */
  slots: number;
  /** The core's own count of Decides that contradicted what it had learned (live replicas, since their start). */
  core_conflicts: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long a round waits for the replicas to converge after faults are lifted. */
const SETTLE_MS_MAX = 10_000;

export class ChaosSession {
  private history: History;
  private round = 0;
  private readonly nemesis: Nemesis;

  private constructor(
    readonly cluster: Cluster,
    readonly opts: ChaosOptions,
  ) {
    this.nemesis = new Nemesis(
      cluster,
      { partitionEvery_ms: opts.partitionEvery_ms ?? 0, pauseEvery_ms: opts.pauseEvery_ms ?? 0, pause_ms: opts.pause_ms ?? 200, crashEvery_ms: opts.crashEvery_ms ?? 0,
        crashAllEvery_ms: opts.crashAllEvery_ms ?? 0 },
      new SeededRandom(opts.seed),
    );
    this.history = new History(opts.replicas, undefined, opts.reads !== undefined);
    cluster.on('decided', (e) => this.history.decided(e.replica, e.slot, e.requestId, e.value));
  }

  static async start(opts: ChaosOptions): Promise<ChaosSession> {
    if (((opts.crashEvery_ms ?? 0) > 0 || (opts.crashAllEvery_ms ?? 0) > 0) && (opts.storage ?? 'memory') === 'memory') throw new RangeError('crashes need file storage (a memory replica cannot restart)');
    for (const m of opts.reads ?? []) {
      if (m === 'stale') throw new RangeError('stale reads are not linearizable: the check would rightly flag them');
      if (m === 'lease' && opts.policy !== 'lease') throw new RangeError(`lease reads need policy lease, not ${opts.policy}`);
    }
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
      ...(opts.reads === undefined ? {} : { stateMachine: KV_MACHINE }),
      ...(opts.snapshotEvery === undefined ? {} : { snapshotEvery: opts.snapshotEvery }),
    });
    return new ChaosSession(cluster, opts);
  }

  /** Replica heaps (bytes; null for a replica that is down). */
  async heaps(): Promise<(number | null)[]> {
    const s = await this.cluster.stats();
    return s.replicas.map((r) => r?.heap_used_bytes ?? null);
  }

  /** Snapshot activity over the live replicas since they (re)started: taken, installed from a peer, log compactions. */
  async snapshotCounts(): Promise<{ taken: number; installed: number; compactions: number }> {
    const s = await this.cluster.stats();
    const live = s.replicas.filter((r) => r !== null);
    const sum = (f: (r: (typeof live)[number]) => number): number => live.reduce((n, r) => n + f(r), 0);
    return { taken: sum((r) => r.snapshot.taken), installed: sum((r) => r.snapshot.installed), compactions: sum((r) => r.storage.compactions ?? 0) };
  }

  async runRound(duration_ms: number): Promise<RoundReport> {
    const o = this.opts;
    const c = this.cluster;
    const round = this.round++;
    const history = new History(o.replicas, undefined, o.reads !== undefined);
    // The previous round's per-replica maps are dropped: this round's keys are new, and agreement of old slots was checked.
    this.history = history;
    const startSlots = await this.nextSlots();
    await c.faults.set(o.faults);
    const faultsBefore = await c.faults.stats();
    const t0 = performance.now();
    const end = t0 + duration_ms;
    const nem = this.nemesis.reset();
    const clients = Array.from({ length: o.clients ?? 6 }, (_, k) => this.client(k, round, end, history, new SeededRandom(o.seed * 31 + round * 1009 + k)));
    await Promise.all([...clients, this.nemesis.run(end)]);
    // Lift every fault, bring crashed replicas back, and let the logs converge before checking.
    await this.nemesis.lift();
    const faults = await this.faultTotals(faultsBefore, nem.restarted);
    const logs = await this.settle(history, startSlots);
    history.checkAgreement(logs);
    history.checkRealTime();
    const lin = history.checkLinearizable(o.linearizability ?? {});
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
      lin_detail: lin.result === 'ok' ? '' : lin.detail,
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
        if (o.reads === undefined) h.ok(rec, await this.cluster.propose(encodeOp(input), { via }));
        else if (input.op === 'put') h.ok(rec, await this.cluster.propose(JSON.parse(encodeOp(input, true)), { via }));
        else {
          const consistency = o.reads[rnd.int(0, o.reads.length - 1)] ?? 'linearizable';
          const r = await this.cluster.read<string | null>({ op: 'get', key: input.key }, { consistency, via });
          h.read(rec, r.replica, r.answer ?? '');
        }
      } catch (e) {
        h.unknown(rec, e);
        // Everything down or overloaded: do not spin.
        await sleep(5);
      }
    }
  }

  private async nextSlots(): Promise<number[]> {
    const s = await this.cluster.stats();
    return s.replicas.map((r) => r?.applier.next_slot ?? 0);
  }

  /**
   * This round's fault counters over all replicas: live counters minus those at
   * the round's start (a replica restarted this round counts from its restart,
   * so these are lower bounds). `held` and `held_high_water` are gauges: maxima.
   */
  private async faultTotals(before: (FaultStats | null)[], restarted: ReadonlySet<number>): Promise<FaultStats> {
    const after = await this.cluster.faults.stats();
    const sum = emptyFaultStats();
    after.forEach((f, i) => {
      if (f === null) return;
      const b = restarted.has(i) ? null : before[i];
      for (const k of Object.keys(sum) as (keyof FaultStats)[]) {
        if (k === 'held' || k === 'held_high_water') sum[k] = Math.max(sum[k], f[k]);
        else sum[k] += Math.max(0, f[k] - (b?.[k] ?? 0));
      }
    });
    return sum;
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
    this.nemesis.stop();
    for (let i = 0; i < this.opts.replicas; i++) this.cluster.faults.resume(i);
    await this.cluster.close();
  }
}
