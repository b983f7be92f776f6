/**
 * A benchmark workload a replica host can carry: a load generator (closed loop
 * with `outstanding` proposals, or open loop at a rate paced by p-queue), a
 * share of proposals funnelled through replica 0 (`conflict_pct`), a simulated
 * state-machine cost per decision, and the figures the benchmark reports:
 * latency and ballots-per-decision histograms, throughput per time bucket and
 * livelock episodes. It runs inside the replica's own thread (worker or
 * inline), fed by the driver's decisions, so measuring adds no thread hop.
 * With `reads_pct`, that share of the closed loop's operations are reads of
 * the replica's state machine (through the host's read path, at
 * `read_consistency`), timed next to a direct, local query call.
 * Control (start, measure, stop, probe) comes over the control plane.
 */
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { nanoid } from 'nanoid';
import PQueue from 'p-queue';
import { commandsOf, isBatch } from '../paxos/batch.js';
import { NOOP, type Value } from '../paxos/messages.js';
import type { Decision, Replica, ReplicaStats } from '../paxos/replica.js';
import { SeededRandom } from '../base/random.js';
import type { StorageStats } from '../storage/storage.js';
import { Op, Reply, joinValue, type OpCode, type ReplyCode } from './client-wire.js';
import { GcMeter, type GcFigures } from './gc-meter.js';
import { InflightRing, sequenceIn } from './inflight-ring.js';
import type { DriverStats } from './driver.js';
import type { TransportStats } from './transport.js';

export interface WorkloadConfig {
  /** This replica generates load (otherwise it only measures). */
  proposer: boolean;
  proposers: number;
  /** Closed loop: proposals kept in flight. */
  outstanding: number;
  workload: 'closed' | 'open';
  /** Open loop: proposals per second over all proposers. */
  rate_per_s: number;
  /** Percent of proposals proposed here; the rest are funnelled through replica 0. */
  conflict_pct: number;
  value_bytes: number;
  /** Simulated state-machine work per decision, busy-waited on this thread. */
  apply_cost_us: number;
  /** A gap without own decisions (with proposals pending) longer than this is a livelock episode. */
  livelock_threshold_ms: number;
  bucket_ms: number;
  buckets_max: number;
  seed: number;
  /** Percent of the closed loop's operations that are reads (needs a state machine); 0: none. */
  reads_pct?: number;
  read_consistency?: 'linearizable' | 'lease' | 'stale';
}

export interface WorkloadMetrics {
  id: number;
  /** Client (non-no-op) decisions this replica learned while measuring. */
  decisions: number;
  /** Commands decided (a slot holds several when the leader batches). */
  commands: number;
  latency_us: RecordableHistogram;
  ballots: RecordableHistogram;
  bucket_counts: number[];
  /** The core's counters over the measured window. */
  stats: ReplicaStats;
  messages_out: number;
  bytes_out: number;
  envelopes_out: number;
  /** Driver turns over the window (envelopes_out / turns: how well a turn batches its sends). */
  turns: number;
  /** This thread's garbage collection over the window. */
  gc: GcFigures;
  proposals_issued: number;
  proposals_dropped: number;
  malformed: number;
  livelock_episodes: number;
  livelock_ms: number;
  elu_active_ms: number;
  elu_utilization: number;
  heap_start_bytes: number;
  heap_end_bytes: number;
  persisted_records: number;
  fsyncs: number;
  /** Reads answered while measuring: their latency (ns), and that of a direct query call made beside each. */
  read_latency_ns: RecordableHistogram;
  local_query_ns: RecordableHistogram;
  /** Reads this replica could not serve (not the leader, refused, overloaded). */
  reads_refused: number;
}

export interface WorkloadProbe {
  id: number;
  /** Own proposals not yet decided. */
  inflight: number;
  outstanding: number;
  first_undecided: number;
  highest_decided: number;
}

/** What the workload needs from its host. */
export interface WorkloadHost {
  readonly id: number;
  readonly replica: Replica;
  propose(value: Value): boolean;
  /** Reads the state machine (the answer comes back to `readAnswered`); null without a state machine. */
  read: ((op: OpCode, id: string, query: string) => void) | null;
  /** The state machine's query, called directly (the local baseline of a read). */
  queryLocal: ((query: string) => string) | null;
  /** Hands `value` to replica `to` to propose there (the runtime's forward path). */
  forward(to: number, value: Value): void;
  driverStats(): DriverStats;
  transportStats(): TransportStats;
  storageStats(): StorageStats;
}

/** Open-loop proposals waiting for a decision are bounded; beyond this a proposal is dropped and counted. */
const INFLIGHT_MAX = 10_000;
/** Request ids of workload proposals: a prefix no nanoid can start with. */
export const WORKLOAD_PREFIX = '~w';
/** Request ids of workload reads (their answers come back to the workload, not to a client). */
export const WORKLOAD_READ_PREFIX = '~q';
const READ_OPS: Record<NonNullable<WorkloadConfig['read_consistency']>, OpCode> = { linearizable: Op.ReadLinearizable, lease: Op.ReadLease, stale: Op.ReadStale };
/** What workload reads ask: any query the machine answers (the bench's register machine ignores it). */
const WORKLOAD_QUERY = 'null';

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
  return getHeapStatistics().used_heap_size;
}

const nsHistogram = (): RecordableHistogram => createHistogram({ lowest: 1, highest: 600_000_000_000, figures: 3 });

type Counters = Omit<WorkloadMetrics, 'stats' | 'elu_active_ms' | 'elu_utilization' | 'heap_end_bytes' | 'persisted_records' | 'fsyncs' | 'turns' | 'gc'>;

interface Baseline {
  stats: ReplicaStats;
  transport: TransportStats;
  storage: StorageStats;
  malformed: number;
  turns: number;
}

export class Workload {
  private readonly random: SeededRandom;
  private readonly pad: string;
  private running = false;
  private closed = false;
  private seq = 0;
  /** `~w<id>-<incarnation>`: a restarted replica's proposals never reuse a dead incarnation's ids. */
  private readonly stream: string;
  private readonly inflight = new InflightRing(INFLIGHT_MAX);
  private readonly readsInflight = new Map<string, number>();
  private readSeq = 0;
  private queue: PQueue | null = null;
  private measuring = false;
  private measureStart_ms = 0;
  private lastDecision_ms = 0;
  private elu0 = performance.eventLoopUtilization();
  private readonly gcMeter = new GcMeter();
  private base: Baseline;
  private m: Counters;

  constructor(private readonly host: WorkloadHost, private readonly cfg: WorkloadConfig) {
    this.stream = `${WORKLOAD_PREFIX}${host.id}-${nanoid(8)}`;
    this.random = new SeededRandom(cfg.seed * 1000 + host.id);
    this.pad = 'x'.repeat(cfg.value_bytes);
    this.base = this.baseline();
    this.m = this.fresh(0);
  }

  private baseline(): Baseline {
    return {
      stats: { ...this.host.replica.stats }, transport: { ...this.host.transportStats() },
      storage: { ...this.host.storageStats() }, malformed: this.host.driverStats().malformed, turns: this.host.driverStats().turns,
    };
  }

  private fresh(heap: number): Counters {
    return {
      id: this.host.id, decisions: 0, commands: 0,
      latency_us: createHistogram({ lowest: 1, highest: 600_000_000, figures: 3 }),
      ballots: createHistogram({ lowest: 1, highest: 1_000_000, figures: 3 }),
      bucket_counts: [], messages_out: 0, bytes_out: 0, envelopes_out: 0, proposals_issued: 0, proposals_dropped: 0,
      malformed: 0, livelock_episodes: 0, livelock_ms: 0, heap_start_bytes: heap,
      read_latency_ns: nsHistogram(), local_query_ns: nsHistogram(), reads_refused: 0,
    };
  }

  /** Starts the load generator (proposers only). */
  start(): void {
    if (!this.cfg.proposer || this.running || this.closed) return;
    this.running = true;
    this.lastDecision_ms = performance.now();
    if (this.cfg.workload === 'closed') {
      for (let i = 0; i < this.cfg.outstanding; i++) this.proposeOne();
    } else {
      void this.feedOpenLoop();
    }
  }

  /** Resets the measured figures: the window starts now. */
  measure(): void {
    this.m = this.fresh(heapUsed());
    this.base = this.baseline();
    this.elu0 = performance.eventLoopUtilization();
    this.measureStart_ms = performance.now();
    this.lastDecision_ms = this.measureStart_ms;
    this.gcMeter.start();
    this.measuring = true;
  }

  /** Stops the load and the window; the replica keeps running so that in-flight proposals finish. */
  stop(): WorkloadMetrics {
    const now = performance.now();
    this.running = false;
    this.queue?.clear();
    if (this.measuring && this.inflight.size > 0) this.noteGap(now);
    this.measuring = false;
    const elu = performance.eventLoopUtilization(this.elu0);
    const stats = { ...this.host.replica.stats };
    for (const k of Object.keys(stats) as Array<keyof ReplicaStats>) stats[k] -= this.base.stats[k];
    const t = this.host.transportStats(), s = this.host.storageStats(), d = this.host.driverStats();
    return {
      ...this.m, stats, elu_active_ms: elu.active, elu_utilization: elu.utilization, heap_end_bytes: heapUsed(),
      messages_out: t.messages_sent - this.base.transport.messages_sent,
      bytes_out: t.bytes_sent - this.base.transport.bytes_sent,
      envelopes_out: t.batches_sent - this.base.transport.batches_sent,
      turns: d.turns - this.base.turns, gc: this.gcMeter.stop(),
      malformed: d.malformed - this.base.malformed,
      persisted_records: s.records - this.base.storage.records, fsyncs: s.fsyncs - this.base.storage.fsyncs,
    };
  }

  probe(): WorkloadProbe {
    const r = this.host.replica;
    return { id: this.host.id, inflight: this.inflight.size + this.readsInflight.size, outstanding: r.outstanding, first_undecided: r.firstUndecided, highest_decided: r.highestDecided };
  }

  close(): void {
    this.closed = true;
    this.running = false;
    this.queue?.clear();
    this.gcMeter.stop();
  }

  private proposeOne(now = performance.now()): void {
    const pct = this.cfg.reads_pct ?? 0;
    // A read starts on a fresh stack, between driver turns, as a client's read arrives (not inside the decision callback,
    // where the core has learned slots the applier has yet to apply, and the read would wait for them).
    const read = this.host.read;
    if (pct > 0 && read !== null && this.random.next() * 100 < pct) return void setImmediate(() => this.running && this.readOne(read));
    // Full: dropped before it takes a sequence number (a skipped one is a gap the applier's dedupe must track).
    if (this.inflight.size >= this.inflight.capacity) {
      this.m.proposals_dropped++;
      return;
    }
    const seq = this.seq++;
    this.inflight.add(seq, now);
    const id = `${this.stream}.${seq}`;
    // Values are `requestId:payload` like client values, padded to value_bytes in all.
    const padding = Math.max(0, this.cfg.value_bytes - id.length - 1);
    // A state machine applies JSON commands: the padding goes as a JSON string then.
    const value = joinValue(id, this.host.read === null ? this.pad.slice(0, padding) : JSON.stringify(this.pad.slice(0, Math.max(0, padding - 2))));
    this.m.proposals_issued++;
    // A conflicting proposal races the other proposers from this replica; the rest are funnelled through replica 0.
    const conflicting = this.host.id === 0 || this.random.next() * 100 < this.cfg.conflict_pct;
    if (!conflicting) return this.host.forward(0, value);
    if (!this.host.propose(value)) {
      this.inflight.take(seq);
      this.m.proposals_dropped++;
    }
  }

  private async feedOpenLoop(): Promise<void> {
    const perProposer_s = this.cfg.rate_per_s / this.cfg.proposers;
    const interval_ms = Math.max(10, 1000 / perProposer_s);
    const intervalCap = Math.max(1, Math.round((perProposer_s * interval_ms) / 1000));
    const queue = new PQueue({ interval: interval_ms, intervalCap });
    this.queue = queue;
    while (this.running) {
      await queue.onSizeLessThan(intervalCap * 2);
      if (!this.running) break;
      void queue.add(() => {
        if (this.running && !this.closed) this.proposeOne();
      });
    }
  }

  /** Every decision this replica learns (the driver's order), before the applier sees it. */
  decided(decisions: readonly Decision[]): void {
    const cost_ms = this.cfg.apply_cost_us / 1000;
    // One clock reading for the commands of this call (a batch is decided at one instant anyway).
    let now = performance.now();
    for (const d of decisions) {
      if (cost_ms > 0) {
        const until = performance.now() + cost_ms;
        while (performance.now() < until) {
          // Simulated state-machine work: a busy wait, as real apply code would hold the thread.
        }
        now = performance.now();
      }
      if (d.value === NOOP) continue;
      if (this.measuring) this.m.decisions++;
      if (!isBatch(d.value)) this.onCommand(d.value, d.ballots, now);
      else for (const c of commandsOf(d.value) ?? []) this.onCommand(c, d.ballots, now);
    }
  }

  private onCommand(value: Value, ballots: number, now: number): void {
    if (this.measuring) {
      this.m.commands++;
      const bucket = Math.floor((now - this.measureStart_ms) / this.cfg.bucket_ms);
      if (bucket >= 0 && bucket < this.cfg.buckets_max) {
        while (this.m.bucket_counts.length <= bucket) this.m.bucket_counts.push(0);
        this.m.bucket_counts[bucket] = (this.m.bucket_counts[bucket] ?? 0) + 1;
      }
      if (ballots > 0) this.m.ballots.record(ballots);
    }
    const seq = sequenceIn(this.stream, value);
    const t0 = seq < 0 ? undefined : this.inflight.take(seq);
    if (t0 === undefined) return;
    if (this.measuring) {
      this.m.latency_us.record(Math.max(1, Math.round((now - t0) * 1000)));
      this.noteGap(now);
    }
    this.lastDecision_ms = now;
    if (this.running && this.cfg.workload === 'closed') this.proposeOne(now);
  }

  private readOne(read: NonNullable<WorkloadHost['read']>): void {
    const id = `${WORKLOAD_READ_PREFIX}${this.stream}.${this.readSeq++}`;
    this.readsInflight.set(id, performance.now());
    read(READ_OPS[this.cfg.read_consistency ?? 'linearizable'], id, WORKLOAD_QUERY);
  }

  /** The host's answer to a workload read. The next operation starts on a later turn: a read answered at once must not recurse. */
  readAnswered(id: string, code: ReplyCode): void {
    // The clock first: finding the start time (a Map lookup of a fresh id) is the meter's work, not the read's.
    const t1 = performance.now();
    const t0 = this.readsInflight.get(id);
    if (t0 === undefined) return;
    const elapsed_ns = Math.max(1, Math.round((t1 - t0) * 1e6));
    this.readsInflight.delete(id);
    if (this.measuring) {
      if (code !== Reply.Read) this.m.reads_refused++;
      else {
        this.m.read_latency_ns.record(elapsed_ns);
        const local = this.host.queryLocal;
        if (local !== null) {
          const l0 = performance.now();
          local(WORKLOAD_QUERY);
          this.m.local_query_ns.record(Math.max(1, Math.round((performance.now() - l0) * 1e6)));
        }
      }
    }
    if (this.running && this.cfg.workload === 'closed') setImmediate(() => this.running && this.proposeOne());
  }

  /** A long gap between decisions of our own while proposals were pending is a livelock episode. */
  private noteGap(now: number): void {
    const gap = now - this.lastDecision_ms;
    if (gap > this.cfg.livelock_threshold_ms) {
      this.m.livelock_episodes++;
      this.m.livelock_ms += gap;
    }
  }
}
