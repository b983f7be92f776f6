/**
 * The embedding API (see index.ts for the contract). Owns the replicas, the
 * mesh wiring, the client queue (p-queue bounds proposals in flight) and the
 * supervision of workers.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { nanoid } from 'nanoid';
import PQueue from 'p-queue';
import { InlineHub } from '../runtime/inline-transport.js';
import type { LoadOptions, LoadResult, ReplicaReport } from '../runtime/host.js';
import type { WorkloadConfig, WorkloadMetrics, WorkloadProbe } from '../runtime/workload.js';
import { openStorage } from '../storage/index.js';
import type { Storage } from '../storage/storage.js';
import { Op, Reply, decodeResult, type OpCode } from '../runtime/client-wire.js';
import { loadStateMachineFactory, snapshotsSupported, type StateMachineFactory } from '../runtime/state-machine.js';
import { CommandError, OverloadError, ProposeTimeoutError, QueryError, ReplicaDownError } from './errors.js';
import type { Answer } from './client-conn.js';
import { startInlineMember, startWorkerMember, type Member } from './member.js';
import { ClusterFaults } from './faults.js';
import { MAX_PAYLOAD_CHARS, resolveOptions, type ClusterOptions, type ResolvedOptions } from './options.js';

export interface DecidedEvent {
  /** The replica that applied it (each replica reports every decision once). */
  replica: number;
  slot: number;
  requestId: string;
  value: string;
}

export interface ReplicaFailureEvent {
  replica: number;
  kind: 'error' | 'exit';
  detail: string;
}

export interface ClusterEvents {
  decided: [DecidedEvent];
  /** A worker threw or exited unasked, or a replica's storage failed (inline too); the replica is down until restart(i). */
  'replica-failed': [ReplicaFailureEvent];
}

export interface ProposeOptions {
  /** The replica to ask first (default: round robin over live replicas). */
  via?: number;
}

export interface Proposed<R = unknown> {
  slot: number;
  /** What was replicated: the value itself, or with a state machine the command as JSON text. */
  value: string;
  /** With a state machine: what apply returned (as JSON carries it); without: undefined. */
  result: R;
  requestId: string;
  /** The replica that answered. */
  replica: number;
  /** Attempts made (1 unless a replica timed out or went down). */
  attempts: number;
}

export type ReadConsistency = 'linearizable' | 'lease' | 'stale';
export const READ_CONSISTENCIES: readonly ReadConsistency[] = ['linearizable', 'lease', 'stale'];

export interface ReadOptions {
  /** Default 'linearizable'. README, "Reads", says what each promises. */
  consistency?: ReadConsistency;
  /** The replica to ask first (stale: the one that answers; otherwise the leader is found from there). */
  via?: number;
}

export interface ReadResult<A = unknown> {
  /** What query returned (as JSON carries it). */
  answer: A;
  /** Every slot below this was applied on the answering replica when it queried. */
  appliedIndex: number;
  replica: number;
  consistency: ReadConsistency;
  /** Replicas asked (a non-leader answers with the leader it believes in, and the read goes there). */
  attempts: number;
}

export interface ClientStats {
  proposals: number;
  decided: number;
  reads: number;
  reads_answered: number;
  /** Reads sent on to another replica (a non-leader named the leader, or none was known yet). */
  read_redirects: number;
  retries: number;
  overloads: number;
  failures: number;
  in_flight: number;
  queued: number;
}

export interface ClusterStats {
  /** One report per replica, null for a replica that is down. */
  replicas: (ReplicaReport | null)[];
  /**
   * How far behind each replica is: the slots between its applied index and
   * the highest applied index of any live replica (null: down). A replica
   * behind the others' retained window catches up by snapshot.
   */
  behind: (number | null)[];
  client: ClientStats;
}

/** Replicas a read may visit (redirects included) before it gives up, within timeout_ms in any case. */
const READ_ATTEMPTS_MAX = 64;
const READ_BACKOFF_MS_MAX = 50;

export class Cluster {
  private readonly members: (Member | null)[];
  private readonly events = new EventEmitter();
  private readonly queue: PQueue;
  /**
   * Rejecters of proposals still waiting in the queue: close() rejects them
   * instead of leaving them hanging. (Not p-queue's per-task `signal`: it adds
   * one abort listener per queued task to one shared signal, and more than 10
   * print MaxListenersExceededWarning.) Bounded by maxQueued.
   */
  private readonly waiting = new Set<(e: Error) => void>();
  /** Replicas in the middle of a crash or restart: a second lifecycle call on one of them is refused. */
  private readonly changing = new Set<number>();
  private readonly hub: InlineHub | null;
  private readonly inlineStorage: (Storage | null)[];
  private readonly clientStats: ClientStats = {
    proposals: 0, decided: 0, reads: 0, reads_answered: 0, read_redirects: 0, retries: 0, overloads: 0, failures: 0, in_flight: 0, queued: 0,
  };
  private rr = 0;
  /** The state machine's factory (inline: each replica start makes an instance; workers load their own). */
  private machine: StateMachineFactory | null = null;
  /** The replica that last answered a leader read: asked first next time. */
  private leaderHint = -1;
  private readonly faultCtl: ClusterFaults | null;
  private closed = false;

  private constructor(readonly options: ResolvedOptions) {
    this.members = Array.from({ length: options.replicas }, () => null);
    this.inlineStorage = Array.from({ length: options.replicas }, () => null);
    this.queue = new PQueue({ concurrency: options.maxInFlight });
    this.hub = options.runtime === 'inline' ? new InlineHub(options.replicas) : null;
    // Decided events can be many; listeners are the user's business, not a leak.
    this.events.setMaxListeners(0);
    this.faultCtl =
      options.faults === null
        ? null
        : new ClusterFaults({ size: options.replicas, isUp: (i) => this.isUp(i), command: (i, cmd) => this.member(i).faults(cmd) }, options.seed ?? (Math.random() * 2 ** 31) | 0, options.faults);
  }

  /** Chaos mode (started with `faults`): link faults, partitions, pauses. See src/chaos/control.ts. */
  get faults(): ClusterFaults {
    if (this.faultCtl === null) throw new Error('this cluster was started without faults; pass `faults: true` (or a spec) to Cluster.start');
    return this.faultCtl;
  }

  /** Validates every option (throws a one-line error before any worker starts), then starts the replicas. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(resolveOptions(opts));
    try {
      await c.loadMachine();
      await c.startAll();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  get size(): number {
    return this.members.length;
  }

  isUp(i: number): boolean {
    return this.members[i] !== null && this.members[i] !== undefined;
  }

  on<E extends keyof ClusterEvents>(event: E, fn: (...args: ClusterEvents[E]) => void): this {
    this.events.on(event, fn as (...a: unknown[]) => void);
    return this;
  }

  off<E extends keyof ClusterEvents>(event: E, fn: (...args: ClusterEvents[E]) => void): this {
    this.events.off(event, fn as (...a: unknown[]) => void);
    return this;
  }

  private readonly onDecided = (replica: number, slot: number, requestId: string, value: string): void => {
    this.events.emit('decided', { replica, slot, requestId, value } satisfies DecidedEvent);
  };

  /**
   * Loads the state machine module here first, and calls its factory once, so
   * that a module that cannot be loaded is one clear error before any replica
   * starts (workers then load it again, each in its own thread).
   */
  private async loadMachine(): Promise<void> {
    const href = this.options.stateMachine;
    if (href === undefined) return;
    const factory = await loadStateMachineFactory(href);
    const probe = factory();
    if (this.options.snapshotEvery > 0 && !snapshotsSupported(probe)) {
      throw new Error(`stateMachine ${href}: snapshots need snapshot() and restore(bytes) on the state machine (or snapshotEvery: 0)`);
    }
    this.machine = factory;
  }

  private readonly supervision = {
    onFailure: (id: number, kind: 'error' | 'exit', detail: string): void => {
      if (this.members[id] === null) return;
      this.members[id] = null;
      this.events.emit('replica-failed', { replica: id, kind, detail } satisfies ReplicaFailureEvent);
    },
  };

  private async startAll(): Promise<void> {
    const n = this.options.replicas;
    if (this.hub !== null) {
      for (let i = 0; i < n; i++) this.members[i] = this.startInline(i);
      return;
    }
    const ports: (MessagePort | null)[][] = Array.from({ length: n }, () => Array.from({ length: n }, () => null));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const ch = new MessageChannel();
        (ports[i] as (MessagePort | null)[])[j] = ch.port1;
        (ports[j] as (MessagePort | null)[])[i] = ch.port2;
      }
    }
    const started = await Promise.allSettled(ports.map((p, i) => this.startWorker(i, p)));
    const bad = started.find((s) => s.status === 'rejected');
    if (bad !== undefined) throw (bad as PromiseRejectedResult).reason;
  }

  /** `restart`: replica i ran before, so its file storage must find its log (see src/storage/marker.ts). */
  private hostConfig(i: number, restart = false) {
    const o = this.options;
    return {
      id: i,
      nodes: o.replicas,
      policy: o.policy,
      storage: restart && o.storage.kind === 'file' ? { ...o.storage, ranBefore: true } : o.storage,
      ...(o.seed === undefined ? {} : { seed: o.seed }),
      tuning: o.tuning,
      driver: { mailboxCapacity: o.mailboxCapacity },
      observe: o.observe,
      snapshotEvery: o.snapshotEvery,
      ...(o.decisionsDir === undefined ? {} : { decisionsDir: o.decisionsDir }),
      ...(o.stateMachine === undefined ? {} : { stateMachine: o.stateMachine }),
    };
  }

  private async startWorker(i: number, ports: (MessagePort | null)[], restart = false): Promise<Member> {
    const host = this.hostConfig(i, restart);
    const young = this.options.youngGeneration_mb;
    const base = young === undefined ? { host, ports } : { host, ports, youngGeneration_mb: young };
    const init = this.faultCtl === null ? base : { ...base, faults: this.faultCtl.initFor(i) };
    const m = await startWorkerMember(init, this.onDecided, this.supervision);
    this.members[i] = m;
    return m;
  }

  private startInline(i: number, restart = false): Member {
    const hub = this.hub as InlineHub;
    const host = this.hostConfig(i, restart);
    // Memory survives an inline crash (same thread); a file is reopened and replayed.
    let storage = this.inlineStorage[i];
    if (storage === null || storage === undefined || this.options.storage.kind === 'file') {
      storage?.close();
      this.inlineStorage[i] = null;
      storage = openStorage(host.storage, { replica: i, replicas: this.options.replicas });
    }
    this.inlineStorage[i] = storage;
    // A fresh instance per start: a restarted replica applies the log again from slot 0.
    return startInlineMember(host, hub, storage, this.onDecided, this.supervision, this.machine ?? undefined);
  }

  private member(i: number): Member {
    if (!Number.isInteger(i) || i < 0 || i >= this.members.length) throw new RangeError(`replica must be an integer in 0..${this.members.length - 1}, got ${i}`);
    const m = this.members[i];
    if (m === null || m === undefined) throw new ReplicaDownError(`replica ${i} is down`);
    return m;
  }

  /**
   * Replicates `command` and resolves with the slot it was decided in (and,
   * with a state machine, the result of applying it). Retries (same request
   * id, never applied twice; a retry gets the first application's result)
   * via other replicas when one times out or goes down; rejects with
   * OverloadError when the queue is full, and with CommandError when apply
   * threw (the command stays decided). Without a state machine the command is
   * a string; with one, any JSON value.
   */
  propose<R = unknown>(command: unknown, opts: ProposeOptions = {}): Promise<Proposed<R>> {
    const refused = this.refusal(opts.via);
    if (refused !== null) return Promise.reject(refused);
    const payload = this.payloadOf(command, 'command');
    if (payload instanceof Error) return Promise.reject(payload);
    this.clientStats.proposals++;
    return this.enqueue(() => this.attempt<R>(payload, opts.via));
  }

  /** Runs `job` through the client queue; close() rejects it while it still waits there. */
  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      this.queue
        .add(() => {
          this.waiting.delete(reject);
          return job();
        })
        .then(resolve, reject);
    });
  }

  /** Why a request cannot even be queued (closed, a bad `via`, a full queue), or null. */
  private refusal(via: number | undefined): Error | null {
    if (this.closed) return new Error('cluster is closed');
    if (via !== undefined && (!Number.isInteger(via) || via < 0 || via >= this.members.length)) {
      return new RangeError(`via must be an integer in 0..${this.members.length - 1}, got ${via}`);
    }
    if (this.queue.size >= this.options.maxQueued) {
      this.clientStats.overloads++;
      return new OverloadError(`client queue full (${this.options.maxQueued} waiting, ${this.options.maxInFlight} in flight)`);
    }
    return null;
  }

  /** The text that travels: the string itself without a state machine, JSON with one. */
  private payloadOf(x: unknown, what: 'command' | 'query'): string | Error {
    let text: string | undefined;
    if (this.machine === null) {
      if (typeof x !== 'string') return new TypeError(`${what} must be a string (with a stateMachine, any JSON value)`);
      text = x;
    } else {
      try {
        text = JSON.stringify(x);
      } catch (e) {
        return new TypeError(`${what} is not JSON-serializable: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (text === undefined) return new TypeError(`${what} is not JSON-serializable (${typeof x})`);
    }
    if (text.length > MAX_PAYLOAD_CHARS) return new RangeError(`${what} is longer than ${MAX_PAYLOAD_CHARS} characters`);
    return text;
  }

  private nextLive(from: number): number {
    const n = this.members.length;
    for (let k = 0; k < n; k++) {
      const i = (from + k) % n;
      if (this.members[i] !== null) return i;
    }
    return -1;
  }

  private async attempt<R>(value: string, via: number | undefined): Promise<Proposed<R>> {
    const requestId = nanoid();
    let at = via ?? this.rr++ % this.members.length;
    let last: Error = new ReplicaDownError('no replica is up');
    for (let attempt = 1; attempt <= this.options.retries + 1; attempt++) {
      const i = this.nextLive(at);
      if (i < 0) break;
      const m = this.members[i] as Member;
      try {
        const a = await m.client.request(Op.Propose, requestId, value, this.options.timeout_ms);
        if (a.code !== Reply.Decided) throw new Error(`replica ${i} answered a proposal with reply code ${a.code}`);
        this.clientStats.decided++;
        return { slot: a.n, value, result: this.resultOf<R>(a, requestId, i), requestId, replica: i, attempts: attempt };
      } catch (e) {
        if (e instanceof OverloadError) {
          this.clientStats.overloads++;
          throw e;
        }
        if (!(e instanceof ReplicaDownError || e instanceof ProposeTimeoutError)) throw e;
        last = e;
        this.clientStats.retries++;
        at = i + 1;
      }
    }
    this.clientStats.failures++;
    throw last;
  }

  private resultOf<R>(a: Answer, requestId: string, replica: number): R {
    if (this.machine === null) return undefined as R;
    const r = decodeResult(a.text);
    if (r.ok) return r.value as R;
    throw new CommandError(`the command decided in slot ${a.n} threw in apply (on every replica; it stays decided): ${r.name}: ${r.message}`, a.n, requestId, replica, r.name);
  }

  /**
   * Queries the state machine. `linearizable` (default): through the leader's
   * read index (or the log, for per-slot policies); `lease`: answered by the
   * lease holder with no message (policy 'lease' only); `stale`: by one
   * replica from what it has applied. A replica that does not lead names the
   * one it believes does, and the read goes there; bounded by `timeout_ms`.
   */
  read<A = unknown>(query: unknown, opts: ReadOptions = {}): Promise<ReadResult<A>> {
    const consistency = opts.consistency ?? 'linearizable';
    if (!READ_CONSISTENCIES.includes(consistency)) return Promise.reject(new RangeError(`consistency must be one of ${READ_CONSISTENCIES.join(', ')}, got ${String(consistency)}`));
    if (this.machine === null) return Promise.reject(new Error('reads need a state machine: Cluster.start({ stateMachine })'));
    if (consistency === 'lease' && this.options.policy.name !== 'lease') {
      return Promise.reject(new RangeError(`consistency 'lease' needs policy 'lease' (this cluster runs '${this.options.policy.name}')`));
    }
    const refused = this.refusal(opts.via);
    if (refused !== null) return Promise.reject(refused);
    const payload = this.payloadOf(query, 'query');
    if (payload instanceof Error) return Promise.reject(payload);
    this.clientStats.reads++;
    return this.enqueue(() => this.readAttempts<A>(payload, consistency, opts.via));
  }

  private async readAttempts<A>(query: string, consistency: ReadConsistency, via: number | undefined): Promise<ReadResult<A>> {
    const op: OpCode = consistency === 'linearizable' ? Op.ReadLinearizable : consistency === 'lease' ? Op.ReadLease : Op.ReadStale;
    const deadline = performance.now() + this.options.timeout_ms;
    let at = via ?? (consistency !== 'stale' && this.leaderHint >= 0 ? this.leaderHint : this.rr++ % this.members.length);
    let last: Error = new ReplicaDownError('no replica is up');
    for (let attempt = 1; attempt <= READ_ATTEMPTS_MAX; attempt++) {
      const left = deadline - performance.now();
      const i = this.nextLive(at);
      if (left <= 0 || i < 0) break;
      let a: Answer;
      try {
        a = await (this.members[i] as Member).client.request(op, nanoid(), query, Math.ceil(left));
      } catch (e) {
        if (!(e instanceof ReplicaDownError || e instanceof ProposeTimeoutError)) throw e;
        last = e;
        at = i + 1;
        continue;
      }
      if (a.code === Reply.Read) return this.answered<A>(a, i, consistency, attempt);
      if (a.code === Reply.Refused) throw new Error(`replica ${i} refused the read: ${a.text}`);
      if (a.code !== Reply.NotLeader) throw new Error(`replica ${i} answered a read with reply code ${a.code}`);
      // Not the leader: go where it points; with no other leader known yet (an election), wait a little first.
      this.clientStats.read_redirects++;
      last = new ProposeTimeoutError(`no leader answered the read within ${this.options.timeout_ms} ms`);
      if (a.n < 0 || a.n === i || !this.isUp(a.n)) await sleep(Math.min(2 ** attempt, READ_BACKOFF_MS_MAX));
      at = a.n >= 0 && this.isUp(a.n) ? a.n : i + 1;
    }
    this.clientStats.failures++;
    throw last;
  }

  private answered<A>(a: Answer, replica: number, consistency: ReadConsistency, attempts: number): ReadResult<A> {
    if (consistency !== 'stale') this.leaderHint = replica;
    const r = decodeResult(a.text);
    if (!r.ok) throw new QueryError(`the query threw on replica ${replica}: ${r.name}: ${r.message}`, replica, r.name);
    this.clientStats.reads_answered++;
    return { answer: r.value as A, appliedIndex: a.n, replica, consistency, attempts };
  }

  /** Kills replica i abruptly (worker terminated, no clean shutdown). Its stored state stays. */
  async crash(i: number): Promise<void> {
    const m = this.member(i);
    this.lock(i, 'crash');
    try {
      this.members[i] = null;
      await m.crash();
    } finally {
      this.changing.delete(i);
    }
  }

  /** One lifecycle change per replica at a time: two workers on one file would be two acceptors with one identity. */
  private lock(i: number, what: string): void {
    if (this.changing.has(i)) throw new Error(`replica ${i} is still crashing or restarting; await that before ${what}(${i})`);
    this.changing.add(i);
  }

  /**
   * Starts replica i again on its stored state, with new ports to every live
   * peer. Worker runtime with memory storage refuses: the state died with the
   * worker, and a replica that forgot its promises could break safety.
   */
  async restart(i: number): Promise<void> {
    if (this.closed) throw new Error('cluster is closed');
    if (!Number.isInteger(i) || i < 0 || i >= this.members.length) throw new RangeError(`replica must be an integer in 0..${this.members.length - 1}, got ${i}`);
    if (this.members[i] !== null) throw new Error(`replica ${i} is up; crash it first`);
    this.lock(i, 'restart');
    try {
      await this.restartLocked(i);
    } finally {
      this.changing.delete(i);
    }
  }

  private async restartLocked(i: number): Promise<void> {
    if (this.hub !== null) {
      this.members[i] = this.startInline(i, true);
      return;
    }
    if (this.options.storage.kind === 'memory') throw new Error(`replica ${i} cannot restart on memory storage (its state was lost with its worker); use file storage`);
    const ports: (MessagePort | null)[] = Array.from({ length: this.members.length }, () => null);
    const wiring: Promise<void>[] = [];
    this.members.forEach((peer, j) => {
      if (peer === null || j === i) return;
      const ch = new MessageChannel();
      ports[j] = ch.port1;
      wiring.push(peer.connect(i, ch.port2));
    });
    await Promise.all(wiring);
    await this.startWorker(i, ports, true);
  }

  async stats(): Promise<ClusterStats> {
    const replicas = await Promise.all(this.members.map((m) => (m === null ? null : m.stats().catch(() => null))));
    const in_flight = this.members.reduce((s, m) => s + (m?.client.inFlight ?? 0), 0);
    let top = 0;
    for (const r of replicas) if (r !== null && r.applier.next_slot > top) top = r.applier.next_slot;
    const behind = replicas.map((r) => (r === null ? null : top - r.applier.next_slot));
    return { replicas, behind, client: { ...this.clientStats, in_flight, queued: this.queue.size } };
  }

  /**
   * Replica i takes a snapshot now of what it applied: made durable, its log
   * compacted below it. Resolves with its index (every slot below it is in it)
   * and its bytes (replicas that applied the same slots give the same bytes).
   */
  snapshot(i: number): Promise<{ index: number; bytes: Uint8Array }> {
    return this.member(i).snapshot();
  }

  /** The decided log of replica i (raw values: `requestId:value`, '' for a no-op), retained slots from `from`. */
  decidedLog(i: number, from?: number, count?: number): Promise<{ from: number; values: string[] }> {
    return this.member(i).decidedLog(from, count);
  }

  /** Closed-loop load generated inside replica i (benchmarks: no main-thread hop per proposal). */
  runLoad(i: number, opts: LoadOptions): Promise<LoadResult> {
    return this.member(i).runLoad(opts);
  }

  resetLatency(i: number): Promise<void> {
    return this.member(i).resetLatency();
  }

  /** Benchmarks: installs and starts a workload (load generator plus metrics) inside replica i. */
  startWorkload(i: number, cfg: WorkloadConfig): Promise<void> {
    return this.member(i).startWorkload(cfg);
  }

  /** Benchmarks: replica i's workload starts its measured window now. */
  measureWorkload(i: number): Promise<void> {
    return this.member(i).measureWorkload();
  }

  /** Benchmarks: stops replica i's load and returns the measured window's figures (the replica keeps running). */
  stopWorkload(i: number): Promise<WorkloadMetrics> {
    return this.member(i).stopWorkload();
  }

  /** Benchmarks: replica i's own proposals in flight and decided prefix (to wait for a settled log). */
  probeWorkload(i: number): Promise<WorkloadProbe> {
    return this.member(i).probeWorkload();
  }

  /** Test hook: delivers `batch` to replica i as if peer `from` had sent it (bad input goes through the codec). */
  inject(i: number, from: number, batch: unknown): Promise<void> {
    return this.member(i).inject(from, batch);
  }

  /** Stops every replica (cleanly, proxies released, workers terminated) and rejects what is still waiting. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.clear();
    const closed = new Error('cluster closed');
    for (const reject of this.waiting) reject(closed);
    this.waiting.clear();
    const ms = this.members.slice();
    this.members.fill(null);
    await Promise.all(ms.map((m) => m?.close()));
    this.hub?.close();
    for (const s of this.inlineStorage) s?.close();
  }
}
