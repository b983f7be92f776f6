/** Cluster options: defaults and validation, all before any worker starts (one-line errors). */
import { MAX_NODES } from '../paxos/ballot.js';
import { MAX_VALUE_BYTES } from '../paxos/codec.js';
import { MAX_BATCH } from '../paxos/replica.js';
import { policySpec, type PolicyParams, type PolicySpec } from '../contention/registry.js';
import type { ReplicaTuning } from '../runtime/host.js';
import { checkWritableDir } from '../storage/index.js';
import type { FsyncMode, StorageFault, StorageSpec } from '../storage/storage.js';
import type { FaultSpec } from '../runtime/fault-transport.js';
import { stateMachineHref } from '../runtime/state-machine.js';

export interface ClusterOptions {
  /** Number of replicas, 1..65536 (the ballot encoding's node ids). */
  replicas: number;
  /** 'workers' (default): one worker thread per replica. 'inline': all on the calling thread (no thread hops). */
  runtime?: 'workers' | 'inline';
  /**
   * 'memory' (default) or an append-only log per replica in `dir`, fsync 'batch'
   * (default, once per turn) or 'always'. `fault` is test-only (like
   * `tuning.bugs`): that replica's fsync fails with EIO after `failFsyncAfter` good ones.
   */
  storage?: 'memory' | { dir: string; fsync?: FsyncMode; fault?: StorageFault };
  /** A policy name (immediate, fixed, exponential, leader, lease) or a spec from policySpec(). Default 'exponential'. */
  policy?: string | PolicySpec;
  /** Overrides of the named policy's parameters. */
  policyParams?: Partial<PolicyParams>;
  /** Seeds each replica's random source (backoff jitter, election); absent: Math.random. */
  seed?: number;
  tuning?: ReplicaTuning;
  mailboxCapacity?: number;
  /** Client proposals in flight at once (p-queue concurrency). Default 256. */
  maxInFlight?: number;
  /** Client proposals waiting beyond those in flight; past this propose() rejects with OverloadError. Default 65536. */
  maxQueued?: number;
  /** Per-attempt wait for a decision before retrying via another replica. Default 5000. */
  timeout_ms?: number;
  /** Retries of a proposal (same request id, so never applied twice). Default 3. */
  retries?: number;
  /** Emit 'decided' for every replica's applied decisions. Default true; turn off for benchmarks. */
  observe?: boolean;
  /**
   * Chaos mode: install the seeded fault layer on every replica's mesh (workers
   * runtime only), with these link faults to start (`true`: none yet). Then
   * `cluster.faults` changes them at run time. Absent: no layer at all (zero cost).
   */
  faults?: FaultSpec | boolean;
  /** Each replica writes every decision it learns to `<dir>/decisions-<id>.jsonl` (for agreement checks). */
  decisionsDir?: string;
  /**
   * Command batching (leader and lease policies): the leader packs up to `max`
   * commands into one slot, and waits up to `delay_us` (default 0: only what
   * one turn gathered) for a batch to fill. Each command is still applied
   * once, in order, on every replica.
   */
  batch?: { max: number; delay_us?: number };
  /**
   * A state machine inside every replica: the URL (or path) of a module
   * exporting `createStateMachine()` (or a default factory) that returns
   * `{ apply(command), query(q) }` (src/runtime/state-machine.ts says what
   * each must promise). Then propose() takes any JSON value as the command and
   * resolves with its result, and read() queries it. Absent: values are
   * opaque strings, as before.
   */
  stateMachine?: URL | string;
}

export interface ResolvedOptions {
  replicas: number;
  runtime: 'workers' | 'inline';
  storage: StorageSpec;
  policy: PolicySpec;
  seed: number | undefined;
  tuning: ReplicaTuning;
  mailboxCapacity: number;
  maxInFlight: number;
  maxQueued: number;
  timeout_ms: number;
  retries: number;
  observe: boolean;
  faults: FaultSpec | null;
  decisionsDir: string | undefined;
  /** The state machine module's file: URL, or undefined. */
  stateMachine: string | undefined;
}

/** The longest payload propose() accepts (room left for the request id). */
export const MAX_PAYLOAD_CHARS = MAX_VALUE_BYTES - 64;

function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

export function resolveOptions(o: ClusterOptions): ResolvedOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('Cluster.start needs an options object');
  const replicas = int('replicas', o.replicas, 1, MAX_NODES);
  const runtime = o.runtime ?? 'workers';
  if (runtime !== 'workers' && runtime !== 'inline') throw new RangeError(`runtime must be 'workers' or 'inline', got ${String(runtime)}`);
  let policy: PolicySpec;
  if (o.policy === undefined || typeof o.policy === 'string') policy = policySpec(o.policy ?? 'exponential', o.policyParams);
  else policy = policySpec(o.policy.name, { ...o.policy.params, ...o.policyParams });
  let storage: StorageSpec;
  const s = o.storage ?? 'memory';
  if (s === 'memory') storage = { kind: 'memory' };
  else if (typeof s === 'object' && s !== null && typeof s.dir === 'string' && s.dir.length > 0) {
    const fsync = s.fsync ?? 'batch';
    if (fsync !== 'always' && fsync !== 'batch') throw new RangeError(`storage.fsync must be 'always' or 'batch', got ${String(fsync)}`);
    checkWritableDir(s.dir);
    storage = s.fault === undefined ? { kind: 'file', dir: s.dir, fsync } : { kind: 'file', dir: s.dir, fsync, fault: storageFault(s.fault, replicas) };
  } else throw new RangeError(`storage must be 'memory' or { dir, fsync? }, got ${JSON.stringify(s)}`);
  const seed = o.seed === undefined ? undefined : int('seed', o.seed, -(2 ** 31), 2 ** 31 - 1);
  const t: ReplicaTuning = { ...(o.tuning ?? {}), ...resolveBatch(o.batch, policy) };
  for (const [k, v] of Object.entries(t)) {
    // Planted bugs (tests that prove the checkers can fail) travel as an object of switches.
    if (k === 'bugs' && typeof v === 'object' && v !== null && Object.values(v).every((b) => typeof b === 'boolean')) continue;
    if (k === 'batchDelay_ms' && v === 0) continue;
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) throw new RangeError(`tuning.${k} must be a positive number, got ${String(v)}`);
  }
  return {
    replicas,
    runtime,
    storage,
    policy,
    seed,
    tuning: t,
    mailboxCapacity: int('mailboxCapacity', o.mailboxCapacity ?? 65_536, 16, 1 << 24),
    maxInFlight: int('maxInFlight', o.maxInFlight ?? 256, 1, 1 << 20),
    maxQueued: int('maxQueued', o.maxQueued ?? 65_536, 0, 1 << 24),
    timeout_ms: int('timeout_ms', o.timeout_ms ?? 5000, 1, 3_600_000),
    retries: int('retries', o.retries ?? 3, 0, 100),
    observe: o.observe ?? true,
    faults: resolveFaults(o.faults, runtime),
    decisionsDir: decisionsDir(o.decisionsDir),
    stateMachine: o.stateMachine === undefined ? undefined : stateMachineHref(o.stateMachine),
  };
}

/** Batching is a stable leader's: refused (one line) for per-slot policies rather than silently ignored. */
function resolveBatch(b: ClusterOptions['batch'], policy: PolicySpec): Pick<ReplicaTuning, 'batchMax' | 'batchDelay_ms'> {
  if (b === undefined) return {};
  if (typeof b !== 'object' || b === null) throw new RangeError(`batch must be { max, delay_us? }, got ${JSON.stringify(b)}`);
  if (policy.name !== 'leader' && policy.name !== 'lease') throw new RangeError(`batch needs a stable leader (policy leader or lease), not ${policy.name}`);
  const max = int('batch.max', b.max, 1, MAX_BATCH);
  const delay_us = int('batch.delay_us', b.delay_us ?? 0, 0, 10_000_000);
  return { batchMax: max, batchDelay_ms: delay_us / 1000 };
}

function storageFault(f: unknown, replicas: number): StorageFault {
  if (typeof f !== 'object' || f === null) throw new RangeError(`storage.fault must be { replica, failFsyncAfter }, got ${JSON.stringify(f)}`);
  const { replica, failFsyncAfter } = f as Partial<StorageFault>;
  return { replica: int('storage.fault.replica', replica, 0, replicas - 1), failFsyncAfter: int('storage.fault.failFsyncAfter', failFsyncAfter, 0, 2 ** 31 - 1) };
}

function decisionsDir(d: unknown): string | undefined {
  if (d === undefined) return undefined;
  if (typeof d !== 'string' || d.length === 0) throw new RangeError(`decisionsDir must be a non-empty string, got ${JSON.stringify(d)}`);
  checkWritableDir(d);
  return d;
}

/** The spec itself is checked against the replica count by ClusterFaults (one place for those rules). */
function resolveFaults(f: unknown, runtime: 'workers' | 'inline'): FaultSpec | null {
  if (f === undefined || f === false) return null;
  if (runtime !== 'workers') throw new RangeError("faults need runtime 'workers'");
  if (f === true) return {};
  if (typeof f !== 'object' || f === null) throw new RangeError(`faults must be true or a fault spec object, got ${JSON.stringify(f)}`);
  return f as FaultSpec;
}
