/**
 * One benchmark run: start the replicas, warm up, measure a window, stop the
 * load, let in-flight proposals settle (so every replica's log is complete),
 * collect per-replica metrics, close every worker.
 */
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchCluster } from './driver.js';
import type { HostConfig, HostMetrics, HostProbe } from './host.js';
import { startInline } from './inline-driver.js';
import type { RunOptions, Runtime } from './options.js';
import { runShared } from './shared-cluster-run.js';
import { startThreads } from './threads-driver.js';

export const BUCKET_MS = 100;
/** After the load stops, in-flight proposals get this long to be decided everywhere. */
const SETTLE_MS_MAX = 5000;

export interface RawRun {
  options: RunOptions;
  runtime: Runtime;
  measured_ms: number;
  metrics: HostMetrics[];
  event_loop_delay_us_p99: number;
  event_loop_delay_us_max: number;
  /** Every replica ended with the same decided prefix and no proposal pending. */
  settled: boolean;
  final: HostProbe[];
}

export interface RunContext {
  /** Scratch directory for per-replica storage and decision files. */
  scratch: string;
  /** Final decisions file for this run, or null. */
  decisions: string | null;
}

export async function runOnce(opts: RunOptions, runtime: Runtime, ctx: RunContext): Promise<RawRun> {
  if (runtime === 'cluster' || runtime === 'cluster-inline') return runShared(opts, runtime === 'cluster-inline', ctx);
  const cfgs: HostConfig[] = [];
  for (let id = 0; id < opts.replicas; id++) {
    cfgs.push({
      id, nodes: opts.replicas, policy: opts.policy, seed: opts.seed, proposer: id < opts.proposers,
      proposers: opts.proposers, outstanding: opts.outstanding, workload: opts.workload, rate_per_s: opts.rate_per_s,
      conflict_pct: opts.conflict_pct, value_bytes: opts.value_bytes, apply_cost_us: opts.apply_cost_us,
      livelock_threshold_ms: opts.livelock_threshold_ms, storage: opts.storage, fsync: opts.fsync,
      storage_path: opts.storage === 'file' ? join(ctx.scratch, `replica-${id}.log`) : null,
      decisions_path: ctx.decisions === null ? null : join(ctx.scratch, `decisions-${id}.jsonl`),
      bucket_ms: BUCKET_MS, buckets_max: Math.ceil(opts.duration_ms / BUCKET_MS) + 10,
    });
  }
  const cluster: BenchCluster = runtime === 'threads' ? await startThreads(cfgs) : await startInline(cfgs);
  const eld = monitorEventLoopDelay({ resolution: 10 });
  try {
    cluster.start();
    await sleep(opts.warmup_ms);
    cluster.measure();
    eld.enable();
    const t0 = performance.now();
    await sleep(opts.duration_ms);
    const metrics = await cluster.stop();
    const measured_ms = performance.now() - t0;
    eld.disable();
    const { settled, final } = await settle(cluster);
    await cluster.close();
    if (ctx.decisions !== null) await concatDecisions(cfgs, ctx.decisions);
    return {
      options: opts, runtime, measured_ms, metrics, settled, final,
      event_loop_delay_us_p99: eld.percentile(99) / 1000,
      event_loop_delay_us_max: eld.max / 1000,
    };
  } finally {
    eld.disable();
    await cluster.close();
  }
}

/** Waits until no proposal is pending and every replica has decided the same prefix. */
async function settle(cluster: BenchCluster): Promise<{ settled: boolean; final: HostProbe[] }> {
  const deadline = performance.now() + SETTLE_MS_MAX;
  for (;;) {
    const probes = await cluster.probe();
    const first = probes[0]?.first_undecided ?? 0;
    const done = probes.every((p) => p.inflight === 0 && p.outstanding === 0 && p.first_undecided === first && p.highest_decided === first - 1);
    if (done || performance.now() > deadline) return { settled: done, final: probes };
    await sleep(20);
  }
}

async function concatDecisions(cfgs: HostConfig[], target: string): Promise<void> {
  const out = createWriteStream(target);
  for (const cfg of cfgs) {
    if (cfg.decisions_path === null) continue;
    for await (const chunk of createReadStream(cfg.decisions_path)) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
    rmSync(cfg.decisions_path, { force: true });
  }
  out.end();
  await once(out, 'finish');
}
