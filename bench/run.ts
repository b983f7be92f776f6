/**
 * One benchmark run, through synod's public embedding API (src/cluster), i.e.
 * the runtime users embed: start the replicas (`threads`: a worker each over
 * the MessageChannel mesh; `inline`: all on this thread), install the
 * benchmark workload inside each replica (src/runtime/workload.ts), warm up,
 * measure a window, stop the load, let in-flight proposals settle (so every
 * replica's log is complete), collect per-replica metrics, close.
 */
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, type WorkloadConfig, type WorkloadMetrics, type WorkloadProbe } from '../src/cluster/index.js';
import { decisionLogFile } from '../src/runtime/decision-log.js';
import { Nemesis } from '../src/chaos/nemesis.js';
import { SeededRandom } from '../src/base/random.js';
import type { RunOptions, Runtime } from './options.js';
import { REGISTER_MACHINE } from './register-machine.js';

export const BUCKET_MS = 100;
/** After the load stops, in-flight proposals get this long to be decided everywhere. */
const SETTLE_MS_MAX = 5000;

export interface RawRun {
  options: RunOptions;
  runtime: Runtime;
  measured_ms: number;
  metrics: WorkloadMetrics[];
  event_loop_delay_us_p99: number;
  event_loop_delay_us_max: number;
  /** Every replica ended with the same decided prefix and no proposal pending. */
  settled: boolean;
  final: WorkloadProbe[];
}

export interface RunContext {
  /** Scratch directory for per-replica storage and decision files. */
  scratch: string;
  /** Final decisions file for this run, or null. */
  decisions: string | null;
}

export async function runOnce(opts: RunOptions, runtime: Runtime, ctx: RunContext): Promise<RawRun> {
  const cluster = await Cluster.start({
    replicas: opts.replicas,
    runtime: runtime === 'threads' ? 'workers' : 'inline',
    storage: opts.storage === 'file' ? { dir: ctx.scratch, fsync: opts.fsync } : 'memory',
    policy: opts.policy,
    seed: opts.seed,
    // The workload measures inside each replica; no per-decision traffic to this thread.
    observe: false,
    // Each replica writes its own decisions; concatenated below once every replica has closed.
    ...(ctx.decisions === null ? {} : { decisionsDir: ctx.scratch }),
    // The proposers' closed loops and the forwarded share all queue at one replica at most.
    tuning: { maxPending: Math.max(4096, 2 * opts.proposers * opts.outstanding) },
    ...(opts.batch_max > 1 ? { batch: { max: opts.batch_max, delay_us: opts.batch_delay_us } } : {}),
    // Workers only (a --compare-inline run of the same options runs on this thread).
    ...(opts.young_gen_mb > 0 && runtime === 'threads' ? { youngGeneration_mb: opts.young_gen_mb } : {}),
    // Chaos flags: the seeded fault layer on every replica's mesh (absent: no layer at all).
    ...(opts.faults === null ? {} : { faults: opts.faults.spec }),
    // Reads need a state machine to read.
    ...(opts.reads_pct > 0 ? { stateMachine: REGISTER_MACHINE } : {}),
  });
  const ids = Array.from({ length: opts.replicas }, (_, i) => i);
  const each = <T>(f: (i: number) => Promise<T>): Promise<T[]> => Promise.all(ids.map(f));
  const eld = monitorEventLoopDelay({ resolution: 10 });
  let closed = false;
  let nemesis: Nemesis | null = null;
  try {
    await each((id) => cluster.startWorkload(id, workloadConfig(opts, id)));
    // Partitions and pauses run through warm-up and the measured window, and are lifted before the load stops.
    nemesis = opts.faults === null ? null : new Nemesis(cluster, opts.faults.nemesis, new SeededRandom(opts.seed));
    const nemesisDone = nemesis?.run(Number.POSITIVE_INFINITY);
    await sleep(opts.warmup_ms);
    await each((id) => cluster.measureWorkload(id));
    eld.enable();
    const t0 = performance.now();
    await sleep(opts.duration_ms);
    nemesis?.stop();
    await nemesisDone;
    await nemesis?.lift();
    const metrics = await each((id) => cluster.stopWorkload(id));
    const measured_ms = performance.now() - t0;
    eld.disable();
    const { settled, final } = await settle(cluster, ids);
    await cluster.close();
    closed = true;
    if (ctx.decisions !== null) await concatDecisions(ctx.scratch, ids, ctx.decisions);
    return {
      options: opts, runtime, measured_ms, metrics, settled, final,
      event_loop_delay_us_p99: eld.percentile(99) / 1000,
      event_loop_delay_us_max: eld.max / 1000,
    };
  } finally {
    eld.disable();
    nemesis?.stop();
    if (!closed) await cluster.close();
  }
}

function workloadConfig(opts: RunOptions, id: number): WorkloadConfig {
  return {
    proposer: id < opts.proposers, proposers: opts.proposers, outstanding: opts.outstanding, workload: opts.workload,
    rate_per_s: opts.rate_per_s, conflict_pct: opts.conflict_pct, value_bytes: opts.value_bytes,
    apply_cost_us: opts.apply_cost_us, livelock_threshold_ms: opts.livelock_threshold_ms,
    bucket_ms: BUCKET_MS, buckets_max: Math.ceil(opts.duration_ms / BUCKET_MS) + 10, seed: opts.seed,
    reads_pct: opts.reads_pct, read_consistency: opts.read_consistency,
  };
}

/** Waits until no proposal is pending and every replica has decided the same prefix. */
async function settle(cluster: Cluster, ids: number[]): Promise<{ settled: boolean; final: WorkloadProbe[] }> {
  const deadline = performance.now() + SETTLE_MS_MAX;
  for (;;) {
    const probes = await Promise.all(ids.map((id) => cluster.probeWorkload(id)));
    const first = probes[0]?.first_undecided ?? 0;
    const done = probes.every((p) => p.inflight === 0 && p.outstanding === 0 && p.first_undecided === first && p.highest_decided === first - 1);
    if (done || performance.now() > deadline) return { settled: done, final: probes };
    await sleep(20);
  }
}

async function concatDecisions(dir: string, ids: number[], target: string): Promise<void> {
  const out = createWriteStream(target);
  for (const id of ids) {
    const file = decisionLogFile(dir, id);
    for await (const chunk of createReadStream(file)) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
    rmSync(file, { force: true });
  }
  out.end();
  await once(out, 'finish');
}
