/**
 * Cluster options: defaults and validation, all before any worker starts
 * (synchronously, one-line errors). Unknown keys are refused at every level
 * (a misspelt option would otherwise be silently ignored), and every size is
 * capped by what it would cost: a replica is a worker thread, a queue slot is
 * memory held until it drains.
 */
import type { PlantedBugs } from '../paxos/replica.js';
import { MAX_VALUE_BYTES } from '../paxos/codec.js';
import { MAX_BATCH } from '../paxos/replica.js';
import { DEFAULT_PARAMS, policySpec, type PolicyParams, type PolicySpec } from '../contention/registry.js';
import { DEFAULT_SNAPSHOT_EVERY, type ReplicaTuning } from '../runtime/host.js';
import { MAX_CHUNK_CHARS } from '../paxos/codec.js';
import { checkWritableDir } from '../storage/index.js';
import type { FsyncMode, StorageFault, StorageSpec } from '../storage/storage.js';
import type { FaultSpec } from '../runtime/fault-transport.js';
import { stateMachineHref } from '../runtime/state-machine.js';

export interface ClusterOptions {
  /** Number of replicas, 1..MAX_REPLICAS (64). */
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
  /**
   * Core tuning: attemptTimeout_ms, sync_ms (each up to an hour), maxPending, retainDecided (each up to 1,048,576),
   * retainDecided_chars (characters of decided values each replica holds, default 32 Mi, up to 2^32), batchMax,
   * batchDelay_ms, snapshotChunk_chars, and test-only `bugs`.
   */
  tuning?: ReplicaTuning;
  /** Messages a replica's mailbox holds, 16..1,048,576. Default 65536. */
  mailboxCapacity?: number;
  /** Client proposals in flight at once (p-queue concurrency), 1..65,536. Default 256. */
  maxInFlight?: number;
  /** Client proposals waiting beyond those in flight, 0..1,048,576; past this propose() rejects with OverloadError. Default 65536. */
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
   * `{ apply(command), query(q), snapshot(), restore(bytes) }`
   * (src/runtime/state-machine.ts says what each must promise; snapshot and
   * restore are needed only with snapshots on). Then propose() takes any JSON
   * value as the command and resolves with its result, and read() queries it.
   * Absent: values are opaque strings, as before.
   */
  stateMachine?: URL | string;
  /**
   * A snapshot every this many applied commands (default 100,000; 0: none).
   * Snapshots bound what a restart reads (the log is compacted below the
   * latest) and let a replica that fell behind the others' retained window
   * catch up (README, "Snapshots"). `cluster.snapshot(i)` takes one on demand.
   */
  snapshotEvery?: number;
  /**
   * Each replica worker's young generation, in MiB (V8's `maxYoungGenerationSizeMb`),
   * 8..4096; absent: V8's default. A larger one scavenges less often, which is
   * what a busy replica's latency tail is made of, for memory: at window 64 on
   * the project's machine 192 took the p99 from 2.3 to 0.86 ms and the
   * process's resident memory from 452 to 677 MB (README, "Performance").
   * Workers only: inline replicas run on the embedder's thread.
   */
  youngGeneration_mb?: number;
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
  snapshotEvery: number;
  youngGeneration_mb: number | undefined;
}

/** The longest payload propose() accepts (room left for the request id). */
export const MAX_PAYLOAD_CHARS = MAX_VALUE_BYTES - 64;

/**
 * One worker thread per replica (about 10-40 MB each, measured 11-64 MiB of
 * heap in the soaks) and a full mesh of n(n-1)/2 MessageChannels: 64 is what
 * the benchmark allows too; 1000 replicas would start workers until the
 * process ran out of memory.
 */
export const MAX_REPLICAS = 64;
/** A mailbox slot is preallocated (12 bytes) and holds a message (~100 bytes) when full: 1,048,576 slots is ~110 MiB per replica. */
export const MAX_MAILBOX_CAPACITY = 1 << 20;
/** A waiting proposal holds ~300 bytes besides its value: 1,048,576 of them is ~300 MiB on the main thread. */
export const MAX_QUEUED = 1 << 20;
/** An in-flight proposal holds a timer and a pending entry in the client and in its replica (whose own queue is maxPending). */
export const MAX_IN_FLIGHT = 1 << 16;
/** Core tables (pending proposals, decided values kept) stay far below V8's 2^24 entries per Map. */
export const MAX_CORE_TABLE = 1 << 20;
/** Decided values a replica may be told to hold, in characters (4 Gi: past that, memory, not the option, is the limit). */
const MAX_RETAIN_CHARS = 2 ** 32;
const HOUR_MS = 3_600_000;

function int(name: string, v: unknown, min: number, max: number, why = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${String(v)}${why === '' ? '' : ` (${why})`}`);
  }
  return v;
}

/** Refuses keys outside `allowed` (a misspelt option would otherwise be ignored without a word). */
export function refuseUnknownKeys(where: string, o: object, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new RangeError(`unknown option '${k}'${where === '' ? '' : ` in ${where}`} (expected one of ${allowed.join(', ')})`);
  }
}

const TOP_KEYS: readonly (keyof ClusterOptions)[] = ['replicas', 'runtime', 'storage', 'policy', 'policyParams', 'seed', 'tuning', 'mailboxCapacity', 'maxInFlight', 'maxQueued', 'timeout_ms', 'retries', 'observe', 'faults', 'decisionsDir', 'batch', 'stateMachine', 'snapshotEvery', 'youngGeneration_mb'];
const TUNING_KEYS: readonly (keyof ReplicaTuning)[] = ['attemptTimeout_ms', 'sync_ms', 'maxPending', 'retainDecided', 'retainDecided_chars', 'batchMax', 'batchDelay_ms', 'snapshotChunk_chars', 'bugs'];
/** Commands between snapshots, at most: past this a replica's core and applier hold that many slots of log. */
export const MAX_SNAPSHOT_EVERY = 1 << 30;
/** Every planted bug (the record makes the compiler list them all): test-only switches in `tuning.bugs`. */
export const PLANTED_BUGS = Object.keys({ quorumOneTooSmall: 1, acceptBelowPromise: 1, proposeArbitraryValue: 1, reuseBallotAfterRestart: 1, skipPersistPromise: 1,
  leaseIgnoresBallot: 1, leaseReadWhileNotLeading: 1, leaseReadBeforeRecovered: 1, promiseForgotten: 1 } satisfies Record<keyof PlantedBugs, 1>);
const LINK_KEYS = ['drop', 'delay_ms', 'duplicate', 'reorder'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function resolveOptions(o: ClusterOptions): ResolvedOptions {
  if (!isObject(o)) throw new TypeError('Cluster.start needs an options object');
  refuseUnknownKeys('', o, TOP_KEYS);
  const n = o.replicas;
  const replicas = int('replicas', n, 1, MAX_REPLICAS, typeof n === 'number' && n > MAX_REPLICAS ? `each replica is a worker thread of about 10-40 MB in a full mesh of n(n-1)/2 channels: ${n} would need ${Math.round(n / 100)}-${Math.round(n / 25)} GB and ${(n * (n - 1)) / 2} channels` : '');
  const runtime = o.runtime ?? 'workers';
  if (runtime !== 'workers' && runtime !== 'inline') throw new RangeError(`runtime must be 'workers' or 'inline', got ${String(runtime)}`);
  const policy = resolvePolicy(o.policy, o.policyParams);
  const seed = o.seed === undefined ? undefined : int('seed', o.seed, -(2 ** 31), 2 ** 31 - 1);
  return {
    replicas,
    runtime,
    storage: resolveStorage(o.storage, replicas),
    policy,
    seed,
    tuning: { ...resolveTuning(o.tuning), ...resolveBatch(o.batch, policy) },
    mailboxCapacity: int('mailboxCapacity', o.mailboxCapacity ?? 65_536, 16, MAX_MAILBOX_CAPACITY, 'a full mailbox holds ~100 bytes per message: the cap is ~110 MiB per replica'),
    maxInFlight: int('maxInFlight', o.maxInFlight ?? 256, 1, MAX_IN_FLIGHT, 'each holds a timer and an entry in the client and in its replica'),
    maxQueued: int('maxQueued', o.maxQueued ?? 65_536, 0, MAX_QUEUED, 'a waiting proposal holds ~300 bytes besides its value: the cap is ~300 MiB'),
    timeout_ms: int('timeout_ms', o.timeout_ms ?? 5000, 1, HOUR_MS),
    retries: int('retries', o.retries ?? 3, 0, 100),
    observe: resolveObserve(o.observe),
    faults: resolveFaults(o.faults, runtime),
    decisionsDir: decisionsDir(o.decisionsDir),
    stateMachine: o.stateMachine === undefined ? undefined : stateMachineHref(o.stateMachine),
    snapshotEvery: int('snapshotEvery', o.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY, 0, MAX_SNAPSHOT_EVERY),
    youngGeneration_mb: resolveYoungGeneration(o.youngGeneration_mb, runtime),
  };
}

function resolveYoungGeneration(mb: number | undefined, runtime: 'workers' | 'inline'): number | undefined {
  if (mb === undefined) return undefined;
  if (runtime === 'inline') throw new RangeError("youngGeneration_mb sizes each replica's worker thread; runtime 'inline' runs on the embedder's thread (set its heap with node's --max-semi-space-size)");
  return int('youngGeneration_mb', mb, 8, 4096, 'each replica worker reserves up to that much for its young generation');
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

function resolveObserve(v: unknown): boolean {
  if (v !== undefined && typeof v !== 'boolean') throw new RangeError(`observe must be true or false, got ${JSON.stringify(v)}`);
  return v ?? true;
}

function resolveStorage(s: unknown, replicas: number): StorageSpec {
  if (s === undefined || s === 'memory') return { kind: 'memory' };
  if (!isObject(s) || typeof s.dir !== 'string' || s.dir.length === 0) throw new RangeError(`storage must be 'memory' or { dir, fsync? }, got ${JSON.stringify(s)}`);
  refuseUnknownKeys('storage', s, ['dir', 'fsync', 'fault']);
  const fsync = s.fsync ?? 'batch';
  if (fsync !== 'always' && fsync !== 'batch') throw new RangeError(`storage.fsync must be 'always' or 'batch', got ${String(fsync)}`);
  checkWritableDir(s.dir);
  return s.fault === undefined ? { kind: 'file', dir: s.dir, fsync } : { kind: 'file', dir: s.dir, fsync, fault: storageFault(s.fault, replicas) };
}

function resolvePolicy(p: ClusterOptions['policy'], params: unknown): PolicySpec {
  if (params !== undefined) {
    if (!isObject(params)) throw new RangeError(`policyParams must be an object, got ${JSON.stringify(params)}`);
    refuseUnknownKeys('policyParams', params, Object.keys(DEFAULT_PARAMS));
  }
  const over = params as Partial<PolicyParams> | undefined;
  if (p === undefined || typeof p === 'string') return policySpec(p ?? 'exponential', over);
  if (!isObject(p)) throw new RangeError(`policy must be a name or a spec from policySpec(), got ${JSON.stringify(p)}`);
  refuseUnknownKeys('policy', p, ['name', 'params']);
  if (p.params !== undefined) {
    if (!isObject(p.params)) throw new RangeError(`policy.params must be an object, got ${JSON.stringify(p.params)}`);
    refuseUnknownKeys('policy.params', p.params, Object.keys(DEFAULT_PARAMS));
  }
  return policySpec(p.name, { ...p.params, ...over });
}

function resolveTuning(t: unknown = {}): ReplicaTuning {
  if (!isObject(t)) throw new RangeError(`tuning must be an object, got ${JSON.stringify(t)}`);
  refuseUnknownKeys('tuning', t, TUNING_KEYS);
  const { bugs, ...numbers } = t;
  if (bugs !== undefined) {
    // Planted bugs (tests that prove the checkers can fail) travel as an object of switches.
    if (!isObject(bugs) || !Object.values(bugs).every((b) => typeof b === 'boolean')) throw new RangeError(`tuning.bugs must be an object of booleans, got ${JSON.stringify(bugs)}`);
    refuseUnknownKeys('tuning.bugs', bugs, PLANTED_BUGS);
  }
  for (const [k, v] of Object.entries(numbers)) {
    if (v === undefined) continue;
    if (k === 'maxPending' || k === 'retainDecided') int(`tuning.${k}`, v, 1, MAX_CORE_TABLE, 'a table of that many entries per replica');
    else if (k === 'retainDecided_chars') int('tuning.retainDecided_chars', v, 1, MAX_RETAIN_CHARS, 'characters of decided values held per replica');
    else if (k === 'batchMax') int('tuning.batchMax', v, 1, MAX_BATCH);
    else if (k === 'snapshotChunk_chars') int('tuning.snapshotChunk_chars', v, 1, MAX_CHUNK_CHARS, 'one chunk is one message');
    else if (k === 'batchDelay_ms' && v === 0) continue;
    else if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > HOUR_MS) throw new RangeError(`tuning.${k} must be a number of ms in (0, ${HOUR_MS}], got ${String(v)}`);
  }
  return t as ReplicaTuning;
}

function decisionsDir(d: unknown): string | undefined {
  if (d === undefined) return undefined;
  if (typeof d !== 'string' || d.length === 0) throw new RangeError(`decisionsDir must be a non-empty string, got ${JSON.stringify(d)}`);
  checkWritableDir(d);
  return d;
}

/** The values are checked against the replica count by ClusterFaults (one place for those rules); the keys here. */
function resolveFaults(f: unknown, runtime: 'workers' | 'inline'): FaultSpec | null {
  if (f === undefined || f === false) return null;
  if (runtime !== 'workers') throw new RangeError("faults need runtime 'workers'");
  if (f === true) return {};
  if (!isObject(f)) throw new RangeError(`faults must be true or a fault spec object, got ${JSON.stringify(f)}`);
  refuseUnknownFaultKeys(f);
  return f as FaultSpec;
}

/** A fault spec's keys, at the top and in each per-link override. */
export function refuseUnknownFaultKeys(f: object): void {
  refuseUnknownKeys('faults', f, [...LINK_KEYS, 'links']);
  const links: unknown = (f as { links?: unknown }).links;
  if (!Array.isArray(links)) return;
  links.forEach((l: unknown, k) => {
    if (isObject(l)) refuseUnknownKeys(`faults.links[${k}]`, l, [...LINK_KEYS, 'from', 'to']);
  });
}
