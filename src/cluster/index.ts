/**
 * synod's embedding API.
 *
 *   const cluster = await Cluster.start({ replicas: 5, policy: 'leader', storage: { dir, fsync: 'batch' } });
 *   cluster.on('decided', ({ replica, slot, value }) => ...);  // each replica reports each applied slot
 *   const { slot } = await cluster.propose('x', { via: 2 });    // nanoid request id; retried, never applied twice
 *   await cluster.crash(3); await cluster.restart(3);            // restart replays replica 3's file
 *   const { replicas, client } = await cluster.stats();
 *   await cluster.close();
 *
 * With a state machine (src/runtime/state-machine.ts; examples/kv.ts is one):
 *
 *   const cluster = await Cluster.start({ replicas: 3, policy: 'lease', stateMachine: new URL('./kv.js', import.meta.url) });
 *   const { result } = await cluster.propose({ op: 'put', key: 'x', value: '1' });  // what apply returned
 *   const { answer, appliedIndex } = await cluster.read({ op: 'get', key: 'x' }, { consistency: 'lease' });
 *
 * propose() rejects with CommandError when apply threw (the command stays
 * decided; the error is its result on every replica); read() with QueryError
 * when query threw. Reads: 'linearizable' (default), 'lease', 'stale'.
 *
 * Options (ClusterOptions in options.ts) are all validated before any worker
 * starts; a bad one throws a one-line RangeError/Error.
 * runtime: 'workers' (default, one worker thread per replica, peers talk over a
 * MessageChannel mesh) or 'inline' (same driver, all replicas on this thread).
 *
 * For benchmarks (bench/):
 * - `Cluster.start({ ..., observe: false })`: no per-decision events to the main thread.
 * - `cluster.runLoad(i, { proposals, concurrency, value_bytes?, timeout_ms? })`
 *   runs a closed loop inside replica i (no main-thread hop per proposal) and
 *   resolves with `{ proposed, decided, overloads, elapsed_ms, timed_out }`.
 *   Run it on several replicas at once for concurrent proposers.
 * - `cluster.resetLatency(i)` clears replica i's latency histogram (after warm-up).
 * - `cluster.startWorkload(i, cfg)` / `measureWorkload(i)` / `stopWorkload(i)` /
 *   `probeWorkload(i)`: the benchmark's workload (src/runtime/workload.ts) inside
 *   replica i: closed or open loop, conflict share, apply cost, and metrics
 *   (latency and ballots histograms, throughput buckets, livelock episodes).
 * - `Cluster.start({ ..., decisionsDir })`: each replica writes every decision it
 *   learns to `<dir>/decisions-<id>.jsonl` itself (an agreement check's input).
 * Snapshots (README, "Snapshots, compaction and catch-up"): `Cluster.start({ ..., snapshotEvery })`
 * (default 100,000 commands; 0: none); `cluster.snapshot(i)` -> `{ index, bytes }` takes one now
 * (durable, the log compacted); `stats().behind[i]`: how many slots replica i is behind.
 * - `cluster.stats()` -> `{ replicas: (ReplicaReport | null)[], behind, client }`; a
 *   ReplicaReport (src/runtime/host.ts) holds:
 *     replica      the core's counters (proposals, decisions, ballotsStarted, nacks, timeouts, messagesIn/Out, ...)
 *     driver       turns, malformed (+ first reason), mailbox_drops, mailbox_high_water
 *     transport    messages_sent, bytes_sent (estimate: 8/number, 1/char), batches_sent, unroutable
 *     storage      records, bytes, fsyncs, truncated_bytes, log_bytes, compactions, snapshots_saved,
 *                  snapshot_index, snapshot_bytes
 *     applier      applied, duplicates, noops, next_slot, read_barriers
 *     snapshot     restored, taken, installed, restore_failures, last_error, index, bytes,
 *                  capture_ms_max, encode_step_ms_max, persist_ms_max
 *     reads        stale, linearizable, lease, lease_fallbacks, through_log, not_leader, refused, overloads
 *     state_machine apply_errors, query_errors (null without a state machine)
 *     client_overloads
 *     cpu_process_user_us / cpu_process_system_us   process.cpuUsage(): PROCESS-wide (Node 20 has no
 *                  per-thread CPU clock); take deltas around a run. elu: this thread's event-loop utilization.
 *     heap_used_bytes  this thread's V8 heap
 *     latency_us   a perf_hooks RecordableHistogram (cloned across the port) of proposal -> applied
 *                  latency in microseconds for proposals this replica originated (client and runLoad),
 *                  plus latency_us_p50 / latency_us_p99 / latency_us_max / latency_count.
 *   Counters restart from zero when a replica restarts.
 * Chaos mode: `Cluster.start({ ..., faults: true | { drop, delay_ms, duplicate, reorder, links } })`
 * installs a seeded fault layer on each replica's mesh; then `cluster.faults.set(spec)`,
 * `.partition([[0], [1, 2]])`, `.heal()`, `.pause(i, ms)` / `.resume(i)`, `.stats()`.
 * Without `faults` there is no layer at all. See docs/reliability.md.
 * Workers start from compiled JS (dist/) on plain node, or through a tsx
 * bootstrap when this module itself is a .ts file (vitest, tsx).
 */
export { Cluster } from './cluster.js';
export type {
  ClientStats, ClusterEvents, ClusterStats, DecidedEvent, ProposeOptions, Proposed, ReadConsistency, ReadOptions, ReadResult, ReplicaFailureEvent,
} from './cluster.js';
export { CommandError, OverloadError, ProposeTimeoutError, QueryError, ReplicaDownError } from './errors.js';
export type { StateMachine, StateMachineFactory } from '../runtime/state-machine.js';
export type { ReadStats } from '../runtime/reads.js';
export type { ClusterOptions } from './options.js';
export type { ClusterFaults } from './faults.js';
export type { FaultSpec, FaultStats, LinkFaults } from '../runtime/fault-transport.js';
export type { LoadOptions, LoadResult, ReplicaReport, ReplicaTuning } from '../runtime/host.js';
export type { WorkloadConfig, WorkloadMetrics, WorkloadProbe } from '../runtime/workload.js';
export { policySpec, POLICY_NAMES, type PolicyParams, type PolicySpec } from '../contention/registry.js';
