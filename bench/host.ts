/**
 * One replica under load: the pure `Replica` plus what a driver adds (clock,
 * one timer, per-peer batching, storage) and what the benchmark adds (a load
 * generator for proposers, latency and ballot histograms, per-window
 * throughput, a decisions log). The same class runs inside a worker (threads)
 * and on the main thread (inline); only the transport differs.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import PQueue from 'p-queue';
import { createPolicy, type PolicySpec } from '../src/contention/registry.js';
import { decode, encode } from '../src/paxos/codec.js';
import { NOOP, type Value } from '../src/paxos/messages.js';
import { Replica, type ReplicaStats } from '../src/paxos/replica.js';
import { SeededRandom } from '../src/sim/random.js';
import { TAG_ROUTE, forEachTuple, pushTuple, type Envelope } from './envelope.js';
import { FileLog, MemoryLog, type AcceptorLog } from './file-log.js';

export interface HostConfig {
  id: number;
  nodes: number;
  policy: PolicySpec;
  seed: number;
  /** This replica generates load. */
  proposer: boolean;
  proposers: number;
  outstanding: number;
  workload: 'closed' | 'open';
  rate_per_s: number;
  conflict_pct: number;
  value_bytes: number;
  apply_cost_us: number;
  livelock_threshold_ms: number;
  storage: 'memory' | 'file';
  fsync: 'always' | 'batch';
  storage_path: string | null;
  /** Where this replica writes its decision lines, or null. */
  decisions_path: string | null;
  /** Throughput-over-time bucket, and how many buckets at most. */
  bucket_ms: number;
  buckets_max: number;
}

export interface HostTransport {
  send(to: number, env: Envelope): void;
}

export interface HostMetrics {
  id: number;
  /** Client (non-no-op) decisions this replica learned while measuring. */
  decisions: number;
  latency_us: RecordableHistogram;
  ballots: RecordableHistogram;
  bucket_counts: number[];
  stats: ReplicaStats;
  messages_out: number;
  bytes_out: number;
  envelopes_out: number;
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
}

export interface HostProbe {
  id: number;
  /** Own proposals not yet decided. */
  inflight: number;
  outstanding: number;
  first_undecided: number;
  highest_decided: number;
}

/** Open-loop proposals waiting for a decision are bounded; beyond this a proposal is dropped and counted. */
const INFLIGHT_MAX = 10_000;
/** Decision lines are buffered and written in chunks of about this size. */
const DECISIONS_CHUNK_CHARS = 1 << 18;
/** One turn's effects may cause further effects (a decision frees a window slot); bound the loop. */
const FLUSH_ROUNDS_MAX = 10_000;

const now_ms = (): number => performance.now();

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) gc();
  return getHeapStatistics().used_heap_size;
}

export class ReplicaHost {
  readonly replica: Replica;
  private readonly random: SeededRandom;
  private readonly log: AcceptorLog;
  private readonly out: Envelope[];
  private readonly pad: string;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  // Load.
  private running = false;
  private seq = 0;
  private readonly inflight = new Map<Value, number>();
  private queue: PQueue | null = null;

  // Measurement.
  private measuring = false;
  private measureStart_ms = 0;
  private statsAtStart: ReplicaStats;
  private eluAtStart = performance.eventLoopUtilization();
  private lastDecision_ms = 0;
  private m: Omit<HostMetrics, 'stats' | 'elu_active_ms' | 'elu_utilization' | 'heap_end_bytes' | 'persisted_records' | 'fsyncs'>;

  // Decisions log.
  private readonly decisionsFd: number | null;
  private decisionsBuf: string[] = [];
  private decisionsChars = 0;

  constructor(private readonly cfg: HostConfig, private readonly transport: HostTransport) {
    this.random = new SeededRandom(cfg.seed * 1000 + cfg.id);
    this.replica = Replica.start(
      { id: cfg.id, nodes: cfg.nodes, policy: createPolicy(cfg.policy), random: this.random.asFunction() },
      now_ms(),
    );
    this.log = cfg.storage === 'file' && cfg.storage_path !== null ? new FileLog(cfg.storage_path, cfg.fsync) : new MemoryLog();
    this.out = Array.from({ length: cfg.nodes }, () => []);
    this.pad = 'x'.repeat(cfg.value_bytes);
    this.decisionsFd = cfg.decisions_path === null ? null : openSync(cfg.decisions_path, 'w');
    this.statsAtStart = { ...this.replica.stats };
    this.m = this.freshMetrics(0);
    this.flush(now_ms());
  }

  private freshMetrics(heap: number): ReplicaHost['m'] {
    return {
      id: this.cfg.id, decisions: 0,
      latency_us: createHistogram({ lowest: 1, highest: 600_000_000, figures: 3 }),
      ballots: createHistogram({ lowest: 1, highest: 1_000_000, figures: 3 }),
      bucket_counts: [], messages_out: 0, bytes_out: 0, envelopes_out: 0, proposals_issued: 0, proposals_dropped: 0,
      malformed: 0, livelock_episodes: 0, livelock_ms: 0, heap_start_bytes: heap,
    };
  }

  // ---- control ---------------------------------------------------------------

  /** Starts the load generator (proposers only). */
  start(): void {
    if (!this.cfg.proposer || this.running) return;
    this.running = true;
    this.lastDecision_ms = now_ms();
    if (this.cfg.workload === 'closed') {
      for (let i = 0; i < this.cfg.outstanding; i++) this.proposeOne();
      this.flush(now_ms());
    } else {
      void this.feedOpenLoop();
    }
  }

  /** Resets the measured figures: the window starts now. */
  measure(): void {
    this.m = this.freshMetrics(heapUsed());
    this.statsAtStart = { ...this.replica.stats };
    this.eluAtStart = performance.eventLoopUtilization();
    this.measureStart_ms = now_ms();
    this.lastDecision_ms = this.measureStart_ms;
    this.measuring = true;
  }

  /** Stops the load and the window; the replica keeps running so that in-flight proposals finish. */
  stop(): HostMetrics {
    const now = now_ms();
    this.running = false;
    this.queue?.clear();
    if (this.measuring && this.inflight.size > 0) this.noteGap(now);
    this.measuring = false;
    const elu = performance.eventLoopUtilization(this.eluAtStart);
    const stats = { ...this.replica.stats };
    for (const k of Object.keys(stats) as Array<keyof ReplicaStats>) stats[k] -= this.statsAtStart[k];
    return {
      ...this.m, stats, elu_active_ms: elu.active, elu_utilization: elu.utilization,
      heap_end_bytes: heapUsed(), persisted_records: this.log.records, fsyncs: this.log.fsyncs,
    };
  }

  probe(): HostProbe {
    return {
      id: this.cfg.id, inflight: this.inflight.size, outstanding: this.replica.outstanding,
      first_undecided: this.replica.firstUndecided, highest_decided: this.replica.highestDecided,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    this.queue?.clear();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.writeDecisions(true);
    if (this.decisionsFd !== null) closeSync(this.decisionsFd);
    this.log.close();
  }

  // ---- inputs ------------------------------------------------------------------

  /** One envelope from a peer: every tuple, then one flush (the turn's batching). */
  onEnvelope(from: number, env: unknown): void {
    if (this.closed) return;
    const now = now_ms();
    const ok = forEachTuple(env, (tuple) => {
      if (tuple[0] === TAG_ROUTE) {
        const value = tuple[1];
        if (typeof value === 'string' && value !== NOOP) this.replica.propose(value, now);
        else this.m.malformed++;
        return;
      }
      const msg = decode(tuple);
      if (typeof msg === 'string') this.m.malformed++;
      else this.replica.receive(from, msg, now);
    });
    if (!ok) this.m.malformed++;
    this.flush(now);
  }

  // ---- load --------------------------------------------------------------------

  private proposeOne(): void {
    const now = now_ms();
    if (this.inflight.size >= INFLIGHT_MAX) {
      this.m.proposals_dropped++;
      return;
    }
    const prefix = `${this.cfg.id}.${this.seq++}.`;
    const value = prefix.length >= this.cfg.value_bytes ? prefix : prefix + this.pad.slice(prefix.length);
    this.inflight.set(value, now);
    this.m.proposals_issued++;
    // A conflicting proposal races the other proposers from this replica; the rest are funnelled through replica 0.
    const conflicting = this.cfg.id === 0 || this.random.next() * 100 < this.cfg.conflict_pct;
    if (conflicting) {
      if (!this.replica.propose(value, now)) {
        this.inflight.delete(value);
        this.m.proposals_dropped++;
      }
    } else {
      this.bytes(0, [TAG_ROUTE, value]);
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
        if (!this.running || this.closed) return;
        this.proposeOne();
        this.flush(now_ms());
      });
    }
  }

  // ---- effects -----------------------------------------------------------------

  private bytes(to: number, tuple: ReadonlyArray<number | string>): void {
    const env = this.out[to];
    if (env === undefined) return;
    this.m.bytes_out += pushTuple(env, tuple);
    this.m.messages_out++;
  }

  /** Applies every effect in order: persist, then send (batched per peer), then decisions. */
  private flush(now: number): void {
    for (let round = 0; ; round++) {
      if (round > FLUSH_ROUNDS_MAX) throw new Error('effects did not settle');
      const ready = this.replica.takeReady();
      if (ready.persist.length === 0 && ready.messages.length === 0 && ready.decisions.length === 0) break;
      this.log.persist(ready.persist);
      for (const { to, msg } of ready.messages) if (to !== this.cfg.id) this.bytes(to, encode(msg));
      for (let to = 0; to < this.out.length; to++) {
        const env = this.out[to];
        if (env === undefined || env.length === 0) continue;
        this.out[to] = [];
        this.m.envelopes_out++;
        this.transport.send(to, env);
      }
      for (const d of ready.decisions) this.onDecision(d.slot, d.value, d.ballots, now);
    }
    // Routed values (TAG_ROUTE) queue in `out` outside a Ready: send them too.
    for (let to = 0; to < this.out.length; to++) {
      const env = this.out[to];
      if (env === undefined || env.length === 0) continue;
      this.out[to] = [];
      this.m.envelopes_out++;
      this.transport.send(to, env);
    }
    this.arm();
  }

  private onDecision(slot: number, value: Value, ballots: number, now: number): void {
    if (this.decisionsFd !== null) {
      const line = `{"replica":${this.cfg.id},"slot":${slot},"value":${JSON.stringify(value)}}\n`;
      this.decisionsBuf.push(line);
      this.decisionsChars += line.length;
      if (this.decisionsChars >= DECISIONS_CHUNK_CHARS) this.writeDecisions(false);
    }
    if (this.cfg.apply_cost_us > 0) {
      const until = performance.now() + this.cfg.apply_cost_us / 1000;
      while (performance.now() < until) {
        // Simulated state-machine work: a busy wait, as real apply code would hold the thread.
      }
    }
    if (value === NOOP) return;
    if (this.measuring) {
      this.m.decisions++;
      const bucket = Math.floor((now - this.measureStart_ms) / this.cfg.bucket_ms);
      if (bucket >= 0 && bucket < this.cfg.buckets_max) {
        while (this.m.bucket_counts.length <= bucket) this.m.bucket_counts.push(0);
        this.m.bucket_counts[bucket] = (this.m.bucket_counts[bucket] ?? 0) + 1;
      }
      if (ballots > 0) this.m.ballots.record(ballots);
    }
    const t0 = this.inflight.get(value);
    if (t0 === undefined) return;
    this.inflight.delete(value);
    if (this.measuring) {
      this.m.latency_us.record(Math.max(1, Math.round((now - t0) * 1000)));
      this.noteGap(now);
    }
    this.lastDecision_ms = now;
    if (this.running && this.cfg.workload === 'closed') this.proposeOne();
  }

  /** A long gap between decisions of our own while proposals were pending is a livelock episode. */
  private noteGap(now: number): void {
    const gap = now - this.lastDecision_ms;
    if (gap > this.cfg.livelock_threshold_ms) {
      this.m.livelock_episodes++;
      this.m.livelock_ms += gap;
    }
  }

  private writeDecisions(final: boolean): void {
    if (this.decisionsFd === null || (this.decisionsBuf.length === 0 && !final)) return;
    if (this.decisionsBuf.length > 0) writeSync(this.decisionsFd, this.decisionsBuf.join(''));
    this.decisionsBuf = [];
    this.decisionsChars = 0;
  }

  /** One timer per replica, at its earliest deadline; re-armed only when that moves earlier. */
  private arm(): void {
    if (this.closed) return;
    const at = this.replica.nextDeadline();
    if (!Number.isFinite(at) || at >= this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - now_ms()));
  }

  private onTimer(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.closed) return;
    const now = now_ms();
    this.replica.tick(now);
    this.flush(now);
  }
}
