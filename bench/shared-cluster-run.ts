/**
 * `--runtime cluster` / `cluster-inline`: the same run through synod's public
 * embedding API (src/cluster), i.e. exactly what users embed: closed-loop load
 * via `cluster.runLoad` inside each proposer replica, figures from
 * `cluster.stats()`. What that API does not expose is reported as zero/empty:
 * ballots per decision, the throughput series, open-loop and --conflict below
 * 100 (use --runtime threads|inline, the bench's own driver, for those).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Cluster, type ReplicaReport } from '../src/cluster/index.js';
import type { ReplicaStats } from '../src/paxos/replica.js';
import type { HostMetrics } from './host.js';
import type { RunOptions } from './options.js';
import type { RawRun, RunContext } from './run.js';

/** Effectively unbounded: the load ends on its timeout, not on a count. */
const PROPOSALS_MAX = 1_000_000_000;

export async function runShared(opts: RunOptions, inline: boolean, ctx: RunContext): Promise<RawRun> {
  const cluster = await Cluster.start({
    replicas: opts.replicas,
    runtime: inline ? 'inline' : 'workers',
    storage: opts.storage === 'file' ? { dir: ctx.scratch, fsync: opts.fsync } : 'memory',
    policy: opts.policy,
    seed: opts.seed,
    observe: ctx.decisions !== null,
  });
  const out = ctx.decisions === null ? null : createWriteStream(ctx.decisions);
  if (out !== null) {
    // Every replica reports every applied slot through the main thread (observe: true); fine for a checked run.
    cluster.on('decided', (d) => out.write(`{"replica":${d.replica},"slot":${d.slot},"value":${JSON.stringify(d.value)}}\n`));
  }
  const eld = monitorEventLoopDelay({ resolution: 10 });
  try {
    const proposers = Array.from({ length: opts.proposers }, (_, i) => i);
    const load = (timeout_ms: number) => Promise.all(proposers.map((i) => cluster.runLoad(i, {
      proposals: PROPOSALS_MAX, concurrency: opts.outstanding, value_bytes: opts.value_bytes, timeout_ms,
    })));
    await load(opts.warmup_ms);
    await Promise.all(Array.from({ length: opts.replicas }, (_, i) => cluster.resetLatency(i)));
    const before = await cluster.stats();
    eld.enable();
    const t0 = performance.now();
    const results = await load(opts.duration_ms);
    const measured_ms = performance.now() - t0;
    eld.disable();
    const after = await cluster.stats();
    const decided = results.reduce((a, r) => a + r.decided, 0);
    const metrics = after.replicas.map((r, i) => toMetrics(i, before.replicas[i] ?? null, r, i === 0 ? decided : 0, results[i]?.overloads ?? 0));
    return {
      options: opts, runtime: inline ? 'cluster-inline' : 'cluster', measured_ms, metrics, settled: true, final: [],
      event_loop_delay_us_p99: eld.percentile(99) / 1000, event_loop_delay_us_max: eld.max / 1000,
    };
  } finally {
    eld.disable();
    await cluster.close();
    if (out !== null) {
      out.end();
      await once(out, 'finish');
    }
  }
}

function toMetrics(id: number, a: ReplicaReport | null, b: ReplicaReport | null, decisions: number, dropped: number): HostMetrics {
  const stats = { ...(b?.replica ?? ({} as ReplicaStats)) };
  if (a !== null) for (const k of Object.keys(stats) as Array<keyof ReplicaStats>) stats[k] -= a.replica[k];
  return {
    id, decisions,
    latency_us: b?.latency_us ?? createHistogram(),
    ballots: createHistogram(),
    bucket_counts: [],
    stats,
    messages_out: (b?.transport.messages_sent ?? 0) - (a?.transport.messages_sent ?? 0),
    bytes_out: (b?.transport.bytes_sent ?? 0) - (a?.transport.bytes_sent ?? 0),
    envelopes_out: (b?.transport.batches_sent ?? 0) - (a?.transport.batches_sent ?? 0),
    proposals_issued: 0, proposals_dropped: dropped,
    malformed: (b?.driver.malformed ?? 0) - (a?.driver.malformed ?? 0),
    livelock_episodes: 0, livelock_ms: 0,
    elu_active_ms: 0, elu_utilization: b?.elu ?? 0,
    heap_start_bytes: a?.heap_used_bytes ?? 0, heap_end_bytes: b?.heap_used_bytes ?? 0,
    persisted_records: b?.storage.records ?? 0, fsyncs: (b?.storage.fsyncs ?? 0) - (a?.storage.fsyncs ?? 0),
  };
}
