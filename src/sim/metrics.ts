/**
 * Contention metrics of one simulated run: what contention cost, per
 * committed proposal and per run. One definition each, documented in
 * docs/contention.md ("Metrics"); the `--json` summary and the sweep's
 * results.csv use these names. A proposal is *committed* when the node it
 * was submitted to learns it decided.
 */
import type { NodeId } from '../paxos/ballot.js';
import { MsgType, type Value } from '../paxos/messages.js';
import type { Ready } from '../paxos/replica.js';
import { mean, percentile } from '../report/stats.js';
import { DuelTracker, LEADERSHIP, type ProposerView } from './duels.js';

/** The simulator's `--json` summary and sweep columns; bumped when a metric is renamed or redefined. */
export const SIM_SCHEMA_VERSION = 2;

export interface RunMetrics {
  proposals: number;
  /** Proposals committed (learned decided by the node they were submitted to). */
  decided: number;
  /** Ballots started on a proposal's behalf (the core's Decision.ballots), mean over committed proposals. */
  attempts_per_proposal: number;
  attempts_max: number;
  /** Ballots started by any node (each one a phase 1 at a quorum: two round trips and a persisted promise), per committed proposal. */
  ballots_per_proposal: number;
  /** Ballots started by any node that got no value chosen, per committed proposal. */
  wasted_ballots_per_proposal: number;
  /** Nack messages sent (a rejection of one ballot by one acceptor), per committed proposal. */
  rejections_per_proposal: number;
  /** Messages sent between nodes (not to self; counted before loss), per committed proposal. */
  messages_per_commit: number;
  /** Persist batches (one per node step that persisted anything), per committed proposal. */
  fsyncs_per_commit: number;
  /** Time from a proposal's submission to its commit: the mean, then nearest-rank percentiles, over the run's committed proposals. */
  latency_ms_mean: number;
  latency_ms_p50: number;
  latency_ms_p90: number;
  latency_ms_p99: number;
  latency_ms_p999: number;
  latency_ms_max: number;
  /** First submission to last commit; undefined (NaN) unless every proposal was committed. */
  makespan_ms: number;
  /** Committed proposals per virtual second of makespan. */
  goodput_per_s: number;
  first_decision_ms: number;
  /** Stretches with two or more ballots in phase 1 of one slot (duels.ts). */
  duels: number;
  /** Stretches longer than the livelock threshold with proposals outstanding and no decision. */
  livelock_episodes: number;
  /** With --isolate: from the cut to the first commit of a proposal submitted after it, at a node on the other side. */
  failover_ms: number;
  ballots_started: number;
}

export type MetricName = keyof RunMetrics;

/** The metrics a sweep reports with a mean and a 95% interval, in column order. */
export const METRICS: readonly MetricName[] = [
  'attempts_per_proposal', 'attempts_max', 'ballots_per_proposal', 'wasted_ballots_per_proposal', 'rejections_per_proposal', 'messages_per_commit',
  'fsyncs_per_commit', 'latency_ms_mean', 'latency_ms_p50', 'latency_ms_p90', 'latency_ms_p99', 'latency_ms_p999', 'latency_ms_max', 'makespan_ms',
  'goodput_per_s', 'first_decision_ms', 'duels', 'livelock_episodes', 'failover_ms', 'ballots_started', 'proposals', 'decided',
];

interface ProposalRecord {
  submitted_ms: number;
  committed_ms: number;
}

/** Collects one run's metrics from the effects the simulator applies. */
export class ContentionMeter {
  readonly duels: DuelTracker;
  private readonly proposals = new Map<Value, ProposalRecord>();
  /** Value → ballots the core reported for it (summed over the nodes that coordinated it). */
  private readonly attempts = new Map<Value, number>();
  private messages = 0;
  private fsyncs = 0;
  private nacks = 0;
  private committed = 0;
  private firstSubmit = Number.POSITIVE_INFINITY;
  private lastCommit = 0;
  private firstDecision = Number.NaN;
  private isolated: { node: NodeId; at_ms: number } | null = null;
  private failover = Number.NaN;

  constructor(nodes: number, quorum: number) {
    this.duels = new DuelTracker(nodes, quorum);
  }

  /** Time failover from a cut of `node` at `at_ms`. */
  isolate(node: NodeId, at_ms: number): void {
    this.isolated = { node, at_ms };
  }

  submitted(value: Value, now: number): void {
    if (!this.proposals.has(value)) this.proposals.set(value, { submitted_ms: now, committed_ms: Number.NaN });
    if (now < this.firstSubmit) this.firstSubmit = now;
  }

  /** One node step's effects. */
  stepped(node: NodeId, ready: Ready, now: number): void {
    if (ready.persist.length > 0) this.fsyncs++;
    for (const o of ready.messages) {
      const m = o.msg;
      if (o.to !== node) this.messages++;
      if (m.t === MsgType.Prepare) this.duels.prepared(node, m.open ? LEADERSHIP : m.slot, m.ballot);
      else if (m.t === MsgType.Accepted) this.duels.acceptedBy(node, m.slot, m.ballot);
      else if (m.t === MsgType.Nack) this.nacks++;
    }
    for (const d of ready.decisions) {
      if (d.ballots > 0) this.attempts.set(d.value, (this.attempts.get(d.value) ?? 0) + d.ballots);
      if (Number.isNaN(this.firstDecision)) this.firstDecision = now;
    }
  }

  settle(node: NodeId, view: ProposerView): void {
    this.duels.settle(node, view);
  }

  /** Node `node`, which `value` was submitted to, learned it decided. */
  committedAt(node: NodeId, value: Value, now: number): void {
    const p = this.proposals.get(value);
    if (p === undefined || !Number.isNaN(p.committed_ms)) return;
    p.committed_ms = now;
    const cut = this.isolated;
    if (cut !== null && Number.isNaN(this.failover) && node !== cut.node && p.submitted_ms >= cut.at_ms) this.failover = now - cut.at_ms;
    this.committed++;
    if (now > this.lastCommit) this.lastCommit = now;
  }

  finish(livelockEpisodes: number): RunMetrics {
    const latencies: number[] = [];
    let attempts = 0;
    let attemptsMax = 0;
    for (const [value, p] of this.proposals) {
      if (Number.isNaN(p.committed_ms)) continue;
      latencies.push(p.committed_ms - p.submitted_ms);
      // A committed value some node coordinated reports at least its winning ballot; one adopted and
      // finished by another proposer's ballot still took one.
      const a = Math.max(1, this.attempts.get(value) ?? 0);
      attempts += a;
      if (a > attemptsMax) attemptsMax = a;
    }
    latencies.sort((x, y) => x - y);
    const n = this.committed;
    const per = (x: number): number => (n === 0 ? Number.NaN : x / n);
    // Only a run that committed everything has finished: a livelocked run has no makespan.
    const makespan = n === 0 || n < this.proposals.size ? Number.NaN : this.lastCommit - this.firstSubmit;
    const d = this.duels;
    return {
      proposals: this.proposals.size,
      decided: n,
      attempts_per_proposal: per(attempts),
      attempts_max: n === 0 ? Number.NaN : attemptsMax,
      ballots_per_proposal: per(d.ballotsStarted),
      wasted_ballots_per_proposal: per(d.ballotsStarted - d.ballotsChoosing),
      rejections_per_proposal: per(this.nacks),
      messages_per_commit: per(this.messages),
      fsyncs_per_commit: per(this.fsyncs),
      latency_ms_mean: mean(latencies),
      latency_ms_p50: percentile(latencies, 50),
      latency_ms_p90: percentile(latencies, 90),
      latency_ms_p99: percentile(latencies, 99),
      latency_ms_p999: percentile(latencies, 99.9),
      latency_ms_max: latencies.at(-1) ?? Number.NaN,
      makespan_ms: makespan,
      goodput_per_s: makespan > 0 ? (n * 1000) / makespan : Number.NaN,
      first_decision_ms: this.firstDecision,
      duels: d.duels,
      livelock_episodes: livelockEpisodes,
      failover_ms: this.failover,
      ballots_started: d.ballotsStarted,
    };
  }
}
