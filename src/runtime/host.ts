/**
 * Everything one replica runs, wherever it runs (a worker, or inline on the
 * main thread): storage, the actor (driver), the applier, the client endpoint,
 * a local closed-loop load generator, and stats. The worker entry exposes one
 * of these over comlink (control plane); client requests and replies use the
 * batched client path (see client-wire.ts).
 */
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { resourceLimits } from 'node:worker_threads';
import { nanoid } from 'nanoid';
import type { NodeId } from '../paxos/ballot.js';
import { REPLICA_DEFAULTS, Replica, type HeldSnapshot, type ReplicaConfig, type ReplicaStats } from '../paxos/replica.js';
import { createPolicy, type PolicySpec } from '../contention/registry.js';
import { SeededRandom } from '../base/random.js';
import { openStorage } from '../storage/index.js';
import type { Storage, StorageSpec, StorageStats } from '../storage/storage.js';
import { Applier, type Applied, type ApplierStats } from './applier.js';
import { Op, READ_BARRIER_PREFIX, Reply, joinValue, type HostBatch, type ReplyCode } from './client-wire.js';
import { ReadServer, type ReadStats } from './reads.js';
import { StateMachineRunner, snapshotsSupported, type StateMachine } from './state-machine.js';
import { NO_APP, Snapshots, type AppSource, type SnapshotStats } from './snapshots.js';
import { DecisionLog } from './decision-log.js';
import { ReplicaDriver, type DriverOptions, type DriverStats } from './driver.js';
import type { Transport, TransportStats } from './transport.js';
import { WORKLOAD_READ_PREFIX, Workload, type WorkloadConfig, type WorkloadMetrics, type WorkloadProbe } from './workload.js';

/** Replica tunables that travel to a worker as plain data. */
export type ReplicaTuning = Pick<ReplicaConfig, 'attemptTimeout_ms' | 'sync_ms' | 'maxPending' | 'retainDecided' | 'retainDecided_chars' | 'batchMax' | 'batchDelay_ms' | 'snapshotChunk_chars' | 'bugs'>;

/** Commands applied between snapshots, by default. */
export const DEFAULT_SNAPSHOT_EVERY = 100_000;

const NO_READS: ReadStats = { stale: 0, linearizable: 0, lease: 0, lease_fallbacks: 0, through_log: 0, not_leader: 0, refused: 0, overloads: 0 };

/** Load-generator request ids: counters, with a prefix no nanoid can start with. */
const LOAD_PREFIX = '~';
/** First characters a client request id may not have: the batch mark, and the marks of load ids and read barriers. */
const RESERVED_FIRST = new Set([1, LOAD_PREFIX.charCodeAt(0), READ_BARRIER_PREFIX.charCodeAt(0)]);

export interface HostConfig {
  id: NodeId;
  nodes: number;
  policy: PolicySpec;
  /** A spec (opened here) or an open storage (inline runtime: memory that survives a crash). */
  storage: StorageSpec | Storage;
  /** Seeds this replica's random source (mixed with its id); absent: Math.random. */
  seed?: number;
  tuning?: ReplicaTuning;
  driver?: Omit<DriverOptions, 'now' | 'onFatal'>;
  /** Stream every applied decision to the client side (the 'decided' event). */
  observe: boolean;
  /** Write every decision of this replica to `<dir>/decisions-<id>.jsonl` (see decision-log.ts). */
  decisionsDir?: string;
  /** The state machine module's `file:` URL (loaded by the host's owner, see state-machine.ts); absent: none. */
  stateMachine?: string;
  /** A snapshot every this many applied commands (0: no snapshots); default DEFAULT_SNAPSHOT_EVERY. */
  snapshotEvery?: number;
}

export interface LoadOptions {
  /** Proposals to complete. */
  proposals: number;
  /** Proposals kept in flight at this replica (closed loop). */
  concurrency: number;
  /** Payload size of each value. */
  value_bytes?: number;
  /** Give up waiting after this long (the result says how many were decided). */
  timeout_ms?: number;
}

export interface LoadResult {
  proposed: number;
  decided: number;
  /** Proposals the replica refused (queue full). */
  overloads: number;
  elapsed_ms: number;
  timed_out: boolean;
}

/** What `stats()` returns for one replica. Counters are totals since this replica (re)started. */
export interface ReplicaReport {
  id: NodeId;
  replica: ReplicaStats;
  driver: DriverStats;
  transport: TransportStats;
  storage: StorageStats;
  applier: ApplierStats;
  snapshot: SnapshotStats;
  /** Reads served and refused here (all zero without a state machine). */
  reads: ReadStats;
  /** Commands whose apply threw, and queries that threw (their results are error values). */
  state_machine: { apply_errors: number; query_errors: number } | null;
  /** Client proposals refused at this replica (its queue or window was full). */
  client_overloads: number;
  /** Process-wide CPU (Node 20 has no per-thread CPU clock): compare deltas, not per-replica splits. */
  cpu_process_user_us: number;
  cpu_process_system_us: number;
  /** This thread's event-loop utilization since start (0..1): the per-replica busy share. */
  elu: number;
  heap_used_bytes: number;
  /** This worker's young-generation limit in MiB (ClusterOptions.youngGeneration_mb, or V8's default for a worker: 48 with Node 20 here); null inline. */
  young_generation_mb: number | null;
  /** Proposal -> applied latency (us) of proposals this replica originated (client and load). */
  latency_us: RecordableHistogram;
  latency_us_p50: number;
  latency_us_p99: number;
  latency_us_max: number;
  latency_count: number;
}

/** What the host's owner hears about (functions: they stay on the owner's thread, not in HostConfig). */
export interface HostHooks {
  /**
   * The replica's storage failed (a write or fsync threw): the replica has
   * stopped for good and acknowledges nothing more. Absent: the error is thrown.
   */
  onFatal?: (error: Error) => void;
  /** This replica's state machine instance (made by the factory of `cfg.stateMachine`): not plain data either. */
  stateMachine?: StateMachine;
  /** The factory it came from: a snapshot is restored into a fresh instance (so a failed restore changes nothing). */
  newStateMachine?: () => StateMachine;
  /** Tests: the application a snapshot captures and restores, instead of the state machine's (see snapshots.ts). */
  app?: AppSource;
}

export class ReplicaHost {
  readonly driver: ReplicaDriver;
  private readonly applier: Applier;
  private readonly machine: StateMachineRunner | null;
  private readonly reads: ReadServer | null;
  private readonly storage: Storage;
  private readonly snapshots: Snapshots;
  private readonly snapshotEvery: number;
  private readonly latency = createHistogram();
  private started = new Map<string, number>();
  private startedDone = 0;
  private readonly maxWaiting: number;
  private readonly observe: boolean;
  private clientOut: (b: HostBatch) => void = () => {};
  /** Reads started a read-index round: run a turn once the batch is in. */
  private wakeDriver = false;
  private readonly now = (): number => performance.now();
  private replies: (string | number)[] = [];
  private decisions: (string | number)[] = [];
  private flushScheduled: NodeJS.Immediate | null = null;
  private clientOverloads = 0;
  private readonly elu0 = performance.eventLoopUtilization();
  private load: { left: number; inflight: number; result: LoadResult; t0: number; payload: string; done: (r: LoadResult) => void; timer: NodeJS.Timeout | null } | null = null;
  private loadSeq = 0;
  /** Load ids are `~<id>-<incarnation>.<seq>`: a restarted replica counts from 0 in a new stream, never in a dead one's. */
  private readonly loadStream: string;
  private readonly decisionLog: DecisionLog | null;
  private workload: Workload | null = null;

  constructor(
    readonly cfg: HostConfig,
    transport: Transport,
    hooks: HostHooks = {},
  ) {
    // A spec is opened here only in a worker, where memory storage cannot outlive the replica (see memory.ts).
    this.storage = 'kind' in cfg.storage ? openStorage(cfg.storage, { replica: cfg.id, replicas: cfg.nodes }, false) : cfg.storage;
    const random = cfg.seed === undefined ? Math.random : new SeededRandom((cfg.seed * 65_537 + cfg.id) | 0).asFunction();
    const now = this.now;
    if ((cfg.stateMachine === undefined) !== (hooks.stateMachine === undefined)) throw new Error(`replica ${cfg.id}: a state machine module needs its instance, and the other way round`);
    const every = (this.snapshotEvery = cfg.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY);
    if (every > 0 && hooks.stateMachine !== undefined && hooks.app === undefined && !snapshotsSupported(hooks.stateMachine)) {
      throw new Error(`stateMachine ${cfg.stateMachine ?? ''}: snapshots need snapshot() and restore(bytes) on the state machine (or snapshotEvery: 0)`);
    }
    this.machine = hooks.stateMachine === undefined ? null : new StateMachineRunner(hooks.stateMachine);
    const records = this.storage.load();
    this.snapshots = new Snapshots(cfg.id, this.storage, hooks.app ?? this.appSource(hooks.newStateMachine), (e) => this.driver.fail(e));
    this.applier = new Applier((a) => this.onApply(a), undefined, undefined, {
      machine: this.machine,
      onReadBarrier: (slot, id) => this.reads?.barrier(slot, id),
      snapshots: every > 0 ? { every, onPoint: (i) => this.snapshots.capture(i, this.applier) } : null,
    });
    const held = this.snapshots.restoreAtStart(this.storage.loadSnapshot(), this.applier, (this.storage as { snapshotPath?: string }).snapshotPath ?? 'in memory');
    const replica = Replica.start(
      { id: cfg.id, nodes: cfg.nodes, policy: createPolicy(cfg.policy), random, ...cfg.tuning, snapshots: every > 0 },
      now(),
      records,
      held,
    );
    this.maxWaiting = cfg.tuning?.maxPending ?? REPLICA_DEFAULTS.maxPending;
    this.observe = cfg.observe;
    this.loadStream = `${LOAD_PREFIX}${cfg.id}-${nanoid(8)}`;
    this.decisionLog = cfg.decisionsDir === undefined ? null : new DecisionLog(cfg.decisionsDir, cfg.id);
    this.driver = new ReplicaDriver(cfg.id, replica, this.storage, transport, (d) => {
      this.decisionLog?.record(d);
      this.workload?.decided(d);
      this.applier.learned(d);
      this.reads?.progress();
    }, {
      ...cfg.driver, now, onReads: (r) => this.reads?.confirmed(r), onInstall: (s) => this.onInstall(s),
      ...(hooks.onFatal === undefined ? {} : { onFatal: hooks.onFatal }),
    });
    const driver = this.driver;
    this.snapshots.attach({
      snapshotTaken: (s) => driver.snapshotTaken(s),
      snapshotInstalled: (s, holds) => driver.snapshotInstalled(s, holds),
      snapshotRefused: (i) => driver.snapshotRefused(i),
      durableState: () => driver.replica.durableState(),
      get closed() {
        return driver.closed;
      },
    });
    this.reads = this.machine === null ? null : this.readServer(this.machine);
  }

  // ---- snapshots (src/runtime/snapshots.ts) ----

  /** The application's part of a snapshot: the state machine's bytes, restored into a fresh instance; or none. */
  private appSource(create: (() => StateMachine) | undefined): AppSource {
    const runner = this.machine;
    if (runner === null) return NO_APP;
    return {
      snapshot: () => runner.snapshot(),
      restore: (bytes) => {
        if (create === undefined) throw new Error('no state machine factory to restore into');
        const fresh = create();
        StateMachineRunner.restoreInto(fresh, bytes);
        return { adopt: () => runner.replace(fresh) };
      },
    };
  }

  /** A snapshot a peer sent: installed, the slots parked above it applied, the requests it answers answered. */
  private onInstall(s: HeldSnapshot): void {
    if (!this.snapshots.install(s, this.applier)) return;
    this.applier.drain();
    for (const id of [...this.started.keys()]) {
      if (!this.applier.knows(id)) continue;
      this.started.delete(id);
      if (id.startsWith(LOAD_PREFIX)) this.loadDecided();
      else this.reply(Reply.Decided, id, this.applier.slotOf(id) ?? -1, this.applier.resultOf(id) ?? '');
    }
    this.reads?.progress();
  }

  /** On demand: a snapshot of what this replica applied, made durable, its log compacted. */
  snapshot(): { index: number; bytes: Uint8Array } {
    if (this.snapshotEvery === 0) throw new Error(`replica ${this.cfg.id} takes no snapshots (snapshotEvery 0)`);
    return this.snapshots.takeNow(this.applier);
  }

  private readServer(machine: StateMachineRunner): ReadServer {
    const driver = this.driver, applier = this.applier;
    return new ReadServer({
      id: this.cfg.id, replica: driver.replica, machine, now: this.now,
      applied: () => applier.stats.next_slot,
      reply: (code, id, n, text) => this.reply(code, id, n, text),
      propose: (v) => driver.propose(v),
      // Once per batch of requests (see clientIn), so the batch's reads share one read-index round.
      wake: () => void (this.wakeDriver = true),
    }, this.maxWaiting);
  }

  // ---- benchmark workload (src/runtime/workload.ts): control plane only ----

  /** Installs a workload and starts its load (proposers); replaces none: one per host. */
  startWorkload(cfg: WorkloadConfig): void {
    if (this.workload !== null) throw new Error(`replica ${this.cfg.id} already runs a workload`);
    const driver = this.driver, storage = this.storage;
    this.workload = new Workload({
      id: this.cfg.id,
      replica: driver.replica,
      propose: (v) => driver.propose(v),
      forward: (to, v) => driver.forward(to, v),
      read: this.reads === null ? null : (op, id, q) => {
        this.reads?.read(op, id, q);
        this.wakeIfReads();
      },
      queryLocal: this.machine === null ? null : (q) => this.machine?.query(q) ?? '',
      driverStats: () => driver.stats,
      transportStats: () => driver.transportStats(),
      storageStats: () => storage.stats,
    }, cfg);
    this.workload.start();
  }

  private requireWorkload(): Workload {
    if (this.workload === null) throw new Error(`replica ${this.cfg.id} runs no workload`);
    return this.workload;
  }

  measureWorkload(): void {
    this.requireWorkload().measure();
  }

  stopWorkload(): WorkloadMetrics {
    return this.requireWorkload().stop();
  }

  probeWorkload(): WorkloadProbe {
    return this.requireWorkload().probe();
  }

  setClientOut(fn: (b: HostBatch) => void): void {
    this.clientOut = fn;
  }

  /** A batch of client requests: [op, requestId, payload, ...] (client-wire.ts). Malformed ones are counted like peer junk. */
  clientIn(batch: unknown): void {
    if (!Array.isArray(batch) || batch.length % 3 !== 0) return this.driver.deliverTuples(-1, null);
    for (let i = 0; i < batch.length; i += 3) {
      const op: unknown = batch[i], id: unknown = batch[i + 1], payload: unknown = batch[i + 2];
      // An id never starts with the batch mark (src/paxos/batch.ts) or a mark of the runtime's own ids (~ load, ? read barrier).
      if (typeof op !== 'number' || typeof id !== 'string' || typeof payload !== 'string' || id.length === 0 || id.includes(':') || RESERVED_FIRST.has(id.charCodeAt(0))) {
        this.driver.deliverTuples(-1, null);
        continue;
      }
      if (op === Op.Propose) this.proposeClient(id, payload);
      else if (op === Op.ReadLinearizable || op === Op.ReadLease || op === Op.ReadStale) this.read(op, id, payload);
      else this.driver.deliverTuples(-1, null);
    }
    this.wakeIfReads();
  }

  private wakeIfReads(): void {
    if (!this.wakeDriver) return;
    this.wakeDriver = false;
    this.driver.wake();
  }

  private proposeClient(id: string, payload: string): void {
    const slot = this.applier.slotOf(id);
    if (slot !== undefined) this.reply(Reply.Decided, id, slot, this.applier.resultOf(id) ?? '');
    else if (this.started.has(id)) return; // a retry of a request already in flight here
    else if (this.started.size >= this.maxWaiting || !this.driver.propose(joinValue(id, payload))) {
      this.clientOverloads++;
      this.reply(Reply.Overload, id, -1);
    } else this.started.set(id, performance.now());
  }

  private read(op: number, id: string, query: string): void {
    if (this.reads === null) return this.reply(Reply.Refused, id, -1, 'reads need a state machine (Cluster.start({ stateMachine }))');
    this.reads.read(op, id, query);
  }

  private onApply(a: Applied): void {
    // Sized first: a replica no client talks to (a follower, the bench's load) skips hashing the id.
    const t0 = this.started.size === 0 ? undefined : this.started.get(a.requestId);
    if (t0 !== undefined) {
      this.started.delete(a.requestId);
      // A new Map now and then, while few requests wait: a long-lived Map's rehashed tables stay in old
      // space once one was promoted, and each dead one keeps its ids alive to the scavenger (slot-map.ts).
      if (++this.startedDone % 4096 === 0 && this.started.size <= 256) this.started = new Map(this.started);
      this.latency.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      if (a.requestId.startsWith(LOAD_PREFIX)) this.loadDecided();
      else this.reply(Reply.Decided, a.requestId, a.slot, a.result ?? '');
    }
    if (this.observe) {
      this.decisions.push(a.slot, a.requestId, a.payload);
      this.scheduleFlush();
    }
  }

  private reply(code: ReplyCode, id: string, n: number, text = ''): void {
    if (id.startsWith(WORKLOAD_READ_PREFIX)) return this.workload?.readAnswered(id, code);
    this.replies.push(code, id, n, text);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    // Bounded: a full buffer goes out at once instead of waiting for the turn to end.
    if (this.replies.length + this.decisions.length >= 4 * 4096) return this.flushClient();
    this.flushScheduled ??= setImmediate(() => this.flushClient());
  }

  private flushClient(): void {
    if (this.flushScheduled !== null) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    if (this.replies.length === 0 && this.decisions.length === 0) return;
    const b: HostBatch = [this.replies, this.decisions];
    this.replies = [];
    this.decisions = [];
    this.clientOut(b);
  }

  /** Closed-loop load from inside this replica: no main-thread hop per proposal. */
  runLoad(opts: LoadOptions): Promise<LoadResult> {
    if (this.load !== null) return Promise.reject(new Error(`replica ${this.cfg.id} is already running a load`));
    if (!Number.isInteger(opts.proposals) || opts.proposals < 0) return Promise.reject(new RangeError(`proposals must be an integer >= 0, got ${opts.proposals}`));
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) return Promise.reject(new RangeError(`concurrency must be an integer >= 1, got ${opts.concurrency}`));
    return new Promise((resolve) => {
      const result: LoadResult = { proposed: 0, decided: 0, overloads: 0, elapsed_ms: 0, timed_out: false };
      const load = { left: opts.proposals, inflight: 0, result, t0: performance.now(), payload: 'x'.repeat(opts.value_bytes ?? 16), done: resolve, timer: null as NodeJS.Timeout | null };
      this.load = load;
      if (opts.timeout_ms !== undefined) {
        load.timer = setTimeout(() => {
          result.timed_out = true;
          this.finishLoad();
        }, opts.timeout_ms);
      }
      const first = Math.min(opts.concurrency, opts.proposals);
      for (let i = 0; i < first; i++) this.proposeLoad();
      if (opts.proposals === 0) this.finishLoad();
    });
  }

  private proposeLoad(): void {
    const load = this.load;
    if (load === null || load.left === 0) return;
    load.left--;
    const id = `${this.loadStream}.${this.loadSeq++}`;
    if (!this.driver.propose(joinValue(id, load.payload))) {
      load.result.overloads++;
      this.clientOverloads++;
      return;
    }
    this.started.set(id, performance.now());
    load.result.proposed++;
    load.inflight++;
  }

  private loadDecided(): void {
    const load = this.load;
    if (load === null) return;
    load.inflight--;
    load.result.decided++;
    this.proposeLoad();
    if (load.inflight === 0 && (load.left === 0 || load.result.proposed === load.result.decided)) this.finishLoad();
  }

  private finishLoad(): void {
    const load = this.load;
    if (load === null) return;
    this.load = null;
    if (load.timer !== null) clearTimeout(load.timer);
    load.result.elapsed_ms = performance.now() - load.t0;
    load.done(load.result);
  }

  decidedLog(from?: number, count?: number): { from: number; values: string[] } {
    return this.applier.decidedLog(from, count);
  }

  /** Clears the latency histogram (e.g. after a warm-up). */
  resetLatency(): void {
    this.latency.reset();
  }

  stats(): ReplicaReport {
    const cpu = process.cpuUsage();
    const h = this.latency;
    const empty = h.count === 0;
    return {
      id: this.cfg.id,
      replica: { ...this.driver.replica.stats },
      driver: { ...this.driver.stats },
      transport: { ...this.transportStats() },
      storage: { ...this.storage.stats },
      applier: { ...this.applier.stats },
      snapshot: { ...this.snapshots.stats },
      reads: { ...(this.reads?.stats ?? NO_READS) },
      state_machine: this.machine === null ? null : { apply_errors: this.machine.applyErrors, query_errors: this.machine.queryErrors },
      client_overloads: this.clientOverloads,
      cpu_process_user_us: cpu.user,
      cpu_process_system_us: cpu.system,
      elu: performance.eventLoopUtilization(this.elu0).utilization,
      heap_used_bytes: getHeapStatistics().used_heap_size,
      young_generation_mb: resourceLimits.maxYoungGenerationSizeMb ?? null,
      latency_us: h,
      latency_us_p50: empty ? 0 : h.percentile(50),
      latency_us_p99: empty ? 0 : h.percentile(99),
      latency_us_max: empty ? 0 : h.max,
      latency_count: h.count,
    };
  }

  private transportStats(): TransportStats {
    return this.driver.transportStats();
  }

  close(): void {
    if (this.flushScheduled !== null) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    if (this.load !== null) {
      this.load.result.timed_out = true;
      this.finishLoad();
    }
    this.workload?.close();
    this.snapshots.close();
    this.driver.close();
    this.decisionLog?.close();
  }
}
