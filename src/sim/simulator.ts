/**
 * Deterministic discrete-event simulator. One seeded random source drives the
 * fault plan and every replica's injected randomness; the workload and the
 * latency model draw from streams of their own (so two sweep points with the
 * same seed see the same arrivals); a virtual clock drives time (each replica
 * reads it through its own drifting clock). The same seed replays the same
 * run, event for event (see `eventHash`).
 *
 * A run has two phases: faults (loss, duplication, delay and reordering,
 * partitions, crashes and restarts), then a healed phase in which every
 * proposal must be decided within `liveness_ms`. Calm runs of a burst, closed
 * or open workload are healed from the start. Safety invariants are checked
 * on every step (src/verify/invariants.ts); lease overlap too, for the lease policy.
 *
 * With a latency model, each message takes a drawn one-way latency
 * (network.ts), and each node handles one message at a time for
 * `processing_ms` (a FIFO queue per node), so load shows as queueing.
 */
import { decode, encode, type Wire } from '../paxos/codec.js';
import type { NodeId } from '../paxos/ballot.js';
import { majority } from '../paxos/quorum.js';
import { MsgType, type Message, type Slot, type Value } from '../paxos/messages.js';
import { Replica, type Decision, type PlantedBugs, type Ready, type ReplicaStats } from '../paxos/replica.js';
import { applyReady, type ReadySink } from '../paxos/ready.js';
import { commandsOf, isBatch } from '../paxos/batch.js';
import { STAT_KEYS, emptyStats } from '../paxos/node.js';
import { leadership, preparingBallot } from '../paxos/introspect.js';
import type { ProposerView } from './duels.js';
import type { PersistRecord } from '../paxos/storage-records.js';
import { createPolicy, type PolicySpec } from '../contention/registry.js';
import { SeededRandom } from '../base/random.js';
import { SafetyChecker, type LeaseReader, type Violation } from '../verify/invariants.js';
import type { BallotRecorder } from '../report/ballot-timeline.js';
import { CALM, drawFaultPlan, type FaultPlan } from './faults.js';
import { latencyP99, type LatencyModel } from './latency.js';
import { ContentionMeter, type RunMetrics } from './metrics.js';
import { checkLinks, Network, type LinkOverride } from './network.js';
import { Timeline } from './timeline.js';
import { DEFAULT_WORKLOAD, Workload, checkWorkload, clientOf, type WorkloadSpec } from './workload.js';
import { SIM_SNAPSHOT_CHUNK, SimApplier, hashOfChosen, parseSnapshot } from './snapshots.js';
import type { HeldSnapshot } from '../paxos/catch-up.js';

export interface SimConfig {
  seed: number;
  /** Acceptors: nodes 0 .. replicas-1 vote (and propose and learn). */
  replicas: number;
  /**
   * How many nodes receive client proposals (nodes 0 .. proposers-1). Above
   * `replicas`, nodes replicas .. proposers-1 are proposer-only: they propose
   * and learn but never vote, and never lead under leader and lease.
   */
  proposers: number;
  policy: PolicySpec;
  /** Shorthand for workload.proposalsPerProposer (default 5). */
  proposalsPerProposer?: number;
  /** Client load (workload.ts); default: `uniform` over the fault phase. */
  workload?: Partial<WorkloadSpec>;
  faultPhase_ms?: number;
  /** Bound on virtual time, after faults stop and the last proposal is submitted, for every proposal to be decided. */
  liveness_ms?: number;
  /** Fault plan: 'swarm' draws one from the seed, 'calm' has none, or give one. */
  faults?: 'swarm' | 'calm' | FaultPlan;
  /** Per-message one-way latency (replaces the fault plan's delay range); null: the plan's. */
  latency?: LatencyModel | null;
  /** Per-link latency overrides (with `latency` only). */
  links?: LinkOverride[];
  /** Virtual time a node spends handling one message; messages queue behind it. */
  processing_ms?: number;
  /** Cut `node` off from every other node at `at_ms` until faults stop (failover timing). */
  isolate?: { node: NodeId; at_ms: number } | null;
  /** Max |clock rate| for swarm plans (default 0.02, i.e. 2%). */
  maxClockRate?: number;
  /** An attempt without a quorum this long has failed; default autoAttemptTimeout_ms. */
  attemptTimeout_ms?: number;
  /** Decided slots each replica keeps (default: all). Small values exercise forgetting; lagging replicas then cannot catch up. */
  retainDecided?: number;
  /** Each node snapshots every this many applied slots and compacts its records (src/sim/snapshots.ts); absent: no snapshots. */
  snapshotEvery?: number;
  bugs?: PlantedBugs;
  /** Stop after this many events (a livelocked run still ends). */
  maxEvents?: number;
  /** Check persist-before-send directly (default true); off, durability bugs must show through their effects. */
  checkPersistence?: boolean;
  /** Keep a printable trace of the last events, for failure reports. */
  traceTail?: number;
  /** A time with outstanding proposals and no decision longer than this is a livelock episode. */
  livelockThreshold_ms?: number;
  /** Stable-leader policies: commands per slot (default 1: no batching). */
  batchMax?: number;
  /** Records the ballot timeline of the run (sends, deliveries, decisions in virtual ms). Not plain data: in-process runs only. */
  timeline?: BallotRecorder;
}

export interface SimResult {
  seed: number;
  policy: string;
  violations: Violation[];
  /** Null when every proposal was decided in time; else why not. */
  livenessFailure: string | null;
  proposals: number;
  decided: number;
  slotsChosen: number;
  events: number;
  eventHash: string;
  endTime_ms: number;
  firstDecision_ms: number | null;
  /** Virtual ms from the end of faults until every proposal was decided. */
  healedDecideTime_ms: number | null;
  messages: number;
  malformedDropped: number;
  livelockEpisodes: number;
  metrics: RunMetrics;
  /** Messages sent by proposer-only nodes (ids >= replicas): Prepares, and Promises plus Accepteds (votes: must be 0). */
  proposerOnlySent: { prepares: number; votes: number };
  plan: FaultPlan;
  stats: ReplicaStats;
  trace: string[];
}

/** Events carry no time: the timeline holds it. A delivery carries its wire form and, when well formed, the decoded message (decoded once per broadcast). */
type SimEvent =
  | { kind: 'deliver'; from: NodeId; to: NodeId; wire: unknown; msg: Message | null }
  | { kind: 'handle'; from: NodeId; to: NodeId; wire: unknown; msg: Message | null; life: number }
  | { kind: 'timer'; node: NodeId }
  | { kind: 'propose'; node: NodeId; value: Value }
  | { kind: 'arrive' }
  | { kind: 'crash'; node: NodeId }
  | { kind: 'restart'; node: NodeId }
  | { kind: 'cut'; links: Array<[NodeId, NodeId]>; on: boolean }
  | { kind: 'heal' };

interface SimNode {
  replica: Replica | null;
  records: PersistRecord[];
  rate: number;
  timerAt: number;
  /** The deadline on the node's own clock that `timerAt` stands for (float round trips must not make it early). */
  timerLocal: number;
  /** Values this node's client proposed and has not yet seen decided (re-proposed after a restart). */
  owed: Set<Value>;
  crashes: number;
  /** With processing time: when the node finishes the messages queued so far. */
  busyUntil: number;
  /** The latest durable snapshot (kept across crashes, like `records`), and the applier it comes from. */
  snap: HeldSnapshot | null;
  app: SimApplier | null;
}

function addStats(into: ReplicaStats, from: ReplicaStats): void {
  for (const k of STAT_KEYS) into[k] += from[k];
}

/** Throws a one-line RangeError for a configuration the simulator cannot run (called before any work). */
export function checkConfig(cfg: SimConfig): void {
  if (!Number.isInteger(cfg.replicas) || cfg.replicas < 1) throw new RangeError(`replicas must be a positive integer, got ${cfg.replicas}`);
  if (!Number.isInteger(cfg.proposers) || cfg.proposers < 1) throw new RangeError(`proposers must be a positive integer, got ${cfg.proposers}`);
  if (nodesOf(cfg) > MAX_SIM_NODES) throw new RangeError(`the simulator runs at most ${MAX_SIM_NODES} nodes, got ${nodesOf(cfg)}`);
  checkWorkload(workloadOf(cfg));
  if ((cfg.links ?? []).length > 0 && (cfg.latency ?? null) === null) throw new RangeError('link overrides need a --latency model to override');
  const n = nodesOf(cfg);
  checkLinks(cfg.links ?? [], n);
  const iso = cfg.isolate ?? null;
  if (iso !== null && (iso.node < 0 || iso.node >= n)) throw new RangeError(`isolate names node ${iso.node}, but nodes are 0..${n - 1}`);
  const faultPhase_ms = cfg.faultPhase_ms ?? 500;
  if (iso !== null && iso.at_ms >= faultPhase_ms) {
    throw new RangeError(`isolate at ${iso.at_ms} ms is not before the fault phase ends (${faultPhase_ms} ms): the cut would never heal`);
  }
  if (!((cfg.processing_ms ?? 0) >= 0)) throw new RangeError(`processing time must be >= 0, got ${String(cfg.processing_ms)}`);
}

/** The simulator's bound on nodes (acceptors and proposer-only nodes together). */
export const MAX_SIM_NODES = 1024;

/** Nodes in a run: the acceptors, plus proposer-only nodes when there are more proposers than acceptors. */
export function nodesOf(cfg: Pick<SimConfig, 'replicas' | 'proposers'>): number {
  return Math.max(cfg.replicas, cfg.proposers);
}

/**
 * The attempt timeout when none is given: 20 ms on the fault plan's sub-ms
 * delays; with a latency model, two round trips at the slowest link's 99th
 * percentile (at least 20 ms), so phase 1 does not time out on a normal trip.
 */
export function autoAttemptTimeout_ms(cfg: Pick<SimConfig, 'latency' | 'links'>): number {
  if ((cfg.latency ?? null) === null) return 20;
  let p99 = latencyP99(cfg.latency as LatencyModel);
  for (const l of cfg.links ?? []) p99 = Math.max(p99, latencyP99(l.model));
  return Math.max(20, 4 * p99);
}

function workloadOf(cfg: SimConfig): WorkloadSpec {
  return { ...DEFAULT_WORKLOAD, proposalsPerProposer: cfg.proposalsPerProposer ?? DEFAULT_WORKLOAD.proposalsPerProposer, ...cfg.workload };
}

/** A stream seed derived from the run's seed and a tag (independent of how much the main stream was used). */
function streamSeed(seed: number, tag: number): number {
  let h = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(tag, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) | 0;
}

export function runSimulation(cfg: SimConfig): SimResult {
  return new Simulation(cfg).run();
}

class Simulation {
  private readonly rng: SeededRandom;
  private readonly queue = new Timeline<SimEvent>();
  private readonly nodes: SimNode[];
  private readonly checker: SafetyChecker;
  private readonly plan: FaultPlan;
  private readonly blocked: boolean[][];
  private readonly faultPhase_ms: number;
  /** When faults stop: the fault phase's end, or 0 for calm runs of the newer workloads. */
  private readonly healAt_ms: number;
  private readonly liveness_ms: number;
  private readonly livelock_ms: number;
  private readonly processing_ms: number;
  private readonly attemptTimeout_ms: number;
  private readonly leases: boolean;
  private readonly network: Network | null;
  private readonly workload: Workload;
  private readonly meter: ContentionMeter;
  private readonly stats = emptyStats();
  /** One sink per node, made once (a step applies thousands of Readies). */
  private readonly sinks: ReadySink[] = [];
  /** One proposer view per node for the duel tracker, made once; it reads the node's current replica. */
  private readonly views: ProposerView[] = [];
  private readonly trace: string[] = [];
  private readonly traceTail: number;
  private readonly acceptors: number;
  /** Promises and Accepteds sent by proposer-only nodes (must stay 0), and the Prepares they sent. */
  private readonly proposerOnlySent = { prepares: 0, votes: 0 };
  private now = 0;
  private healed = false;
  private hash = 0x811c9dc5;
  private events = 0;
  private proposals = 0;
  private owedTotal = 0;
  /** Proposals scheduled and not yet submitted. */
  private scheduled = 0;
  private lastSubmit = 0;
  private decidedOwn = 0;
  private malformed = 0;
  private messages = 0;
  private firstDecision: number | null = null;
  private lastDecision = 0;
  private livelockEpisodes = 0;
  private healedDone: number | null = null;
  private lastSent: { sent: Message; wire: Wire; msg: Message } | null = null;
  /** The node whose step installed a snapshot (its new effects are applied in the same step). */
  private installedIn = -1;

  constructor(private readonly cfg: SimConfig) {
    checkConfig(cfg);
    this.rng = new SeededRandom(cfg.seed);
    this.faultPhase_ms = cfg.faultPhase_ms ?? 500;
    this.liveness_ms = cfg.liveness_ms ?? 5_000;
    this.livelock_ms = cfg.livelockThreshold_ms ?? 100;
    this.processing_ms = cfg.processing_ms ?? 0;
    this.attemptTimeout_ms = cfg.attemptTimeout_ms ?? autoAttemptTimeout_ms(cfg);
    this.traceTail = cfg.traceTail ?? 0;
    this.leases = cfg.policy.name === 'lease';
    const n = nodesOf(cfg);
    this.acceptors = cfg.replicas;
    const faults = cfg.faults ?? 'swarm';
    this.plan =
      faults === 'swarm'
        ? drawFaultPlan(this.rng, { nodes: n, faultPhase_ms: this.faultPhase_ms, maxClockRate: cfg.maxClockRate ?? 0.02 })
        : faults === 'calm'
          ? { ...CALM, clockRates: new Array<number>(n).fill(0) }
          : faults;
    const spec = workloadOf(cfg);
    const healNow = faults === 'calm' && spec.kind !== 'uniform' && (cfg.isolate ?? null) === null;
    this.healAt_ms = healNow ? 0 : this.faultPhase_ms;
    const latency = cfg.latency ?? null;
    this.network = latency === null ? null : new Network(n, latency, cfg.links ?? [], new SeededRandom(streamSeed(cfg.seed, 1)));
    this.checker = new SafetyChecker(n, { checkPersistence: cfg.checkPersistence ?? true, acceptors: this.acceptors, leaseReads: this.leases });
    this.meter = new ContentionMeter(n, majority(this.acceptors));
    this.blocked = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
    this.nodes = Array.from({ length: n }, (_, id) => ({
      replica: null, records: [], rate: this.plan.clockRates[id] ?? 0, timerAt: Number.POSITIVE_INFINITY, timerLocal: 0,
      owed: new Set<Value>(), crashes: 0, busyUntil: 0, snap: null, app: null,
    }));
    this.nodes.forEach((sn, id) => this.sinks.push(this.sinkFor(id, sn)));
    this.nodes.forEach((sn) => this.views.push(viewOf(sn)));
    for (let id = 0; id < n; id++) this.boot(id);
    this.workload = new Workload(spec, cfg.proposers, new SeededRandom(streamSeed(cfg.seed, 2)), {
      propose: (at, node, value) => {
        this.scheduled++;
        this.queue.push(at, { kind: 'propose', node, value });
      },
      arrival: (at) => this.queue.push(at, { kind: 'arrive' }),
    });
    this.workload.start(this.rng, this.faultPhase_ms);
    this.schedulePlan();
  }

  private local(node: NodeId): number {
    return this.now * (1 + (this.nodes[node]?.rate ?? 0));
  }

  private realOf(node: NodeId, local: number): number {
    return local / (1 + (this.nodes[node]?.rate ?? 0));
  }

  private node(id: NodeId): SimNode {
    const n = this.nodes[id];
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  private boot(id: NodeId): void {
    const sn = this.node(id);
    sn.replica = Replica.start(
      {
        id, nodes: this.nodes.length, acceptors: this.acceptors, policy: createPolicy(this.cfg.policy), random: this.rng.fork().asFunction(),
        attemptTimeout_ms: this.attemptTimeout_ms, sync_ms: 50, retainDecided: this.cfg.retainDecided ?? 1 << 30, batchMax: this.cfg.batchMax ?? 1, bugs: this.cfg.bugs ?? {},
        snapshots: this.cfg.snapshotEvery !== undefined, snapshotChunk_chars: SIM_SNAPSHOT_CHUNK,
      },
      this.local(id),
      sn.records,
      sn.snap,
    );
    if (this.cfg.snapshotEvery !== undefined) sn.app = SimApplier.at(this.cfg.snapshotEvery, sn.snap);
    if (sn.crashes > 0) this.checker.recovered(id, sn.replica);
    this.afterStep(id);
  }

  private schedulePlan(): void {
    for (const c of this.plan.crashes) {
      this.queue.push(c.at_ms, { kind: 'crash', node: c.node });
      this.queue.push(Math.min(c.at_ms + c.duration_ms, this.faultPhase_ms), { kind: 'restart', node: c.node });
    }
    for (const p of this.plan.partitions) {
      this.queue.push(p.at_ms, { kind: 'cut', links: p.cut, on: true });
      this.queue.push(Math.min(p.at_ms + p.duration_ms, this.faultPhase_ms), { kind: 'cut', links: p.cut, on: false });
    }
    const iso = this.cfg.isolate ?? null;
    if (iso !== null) {
      const links: Array<[NodeId, NodeId]> = [];
      for (let other = 0; other < this.nodes.length; other++) if (other !== iso.node) links.push([iso.node, other], [other, iso.node]);
      this.queue.push(iso.at_ms, { kind: 'cut', links, on: true });
      this.meter.isolate(iso.node, iso.at_ms);
    }
    this.queue.push(this.healAt_ms, { kind: 'heal' });
  }

  run(): SimResult {
    const livenessFailure = this.loop();
    if (this.now - this.lastDecision > this.livelock_ms && this.outstanding() > 0) this.livelockEpisodes++;
    for (const sn of this.nodes) if (sn.replica !== null) addStats(this.stats, sn.replica.stats);
    return {
      seed: this.cfg.seed,
      policy: this.cfg.policy.name,
      violations: this.checker.violations,
      livenessFailure,
      proposals: this.proposals,
      decided: this.decidedOwn,
      slotsChosen: this.checker.chosenCount,
      events: this.events,
      eventHash: (this.hash >>> 0).toString(16).padStart(8, '0'),
      endTime_ms: this.now,
      firstDecision_ms: this.firstDecision,
      healedDecideTime_ms: this.healedDone,
      messages: this.messages,
      malformedDropped: this.malformed,
      livelockEpisodes: this.livelockEpisodes,
      metrics: this.meter.finish(this.livelockEpisodes),
      proposerOnlySent: { ...this.proposerOnlySent },
      plan: this.plan,
      stats: this.stats,
      trace: this.trace,
    };
  }

  /** Runs events until every proposal is decided after healing; returns why not, or null. */
  private loop(): string | null {
    const maxEvents = this.cfg.maxEvents ?? 2_000_000;
    for (;;) {
      const e = this.queue.pop();
      if (e === undefined) return 'event queue ran dry';
      const at = this.queue.time;
      if (this.healed && at > this.deadline()) {
        return `not all decided ${this.liveness_ms} ms after faults stopped: ${this.undecidedSummary()}`;
      }
      if (++this.events > maxEvents) return `event budget of ${maxEvents} exhausted at ${this.now.toFixed(1)} ms: ${this.undecidedSummary()}`;
      this.now = at;
      const readers = this.leases ? this.leaseReaders() : [];
      this.apply(e);
      if (this.leases) {
        this.checkLeases();
        this.checker.checkLeaseReads(readers, this.leaseReaders(), this.now);
      }
      if (this.healed && this.allDone()) {
        this.healedDone = this.now - this.healAt_ms;
        return null;
      }
    }
  }

  /** Every proposal must be decided within liveness_ms of the later of healing and its own submission. */
  private deadline(): number {
    return Math.max(this.healAt_ms, this.lastSubmit) + this.liveness_ms;
  }

  private mix(x: number): void {
    this.hash = Math.imul(this.hash ^ (x | 0), 16777619);
  }

  private note(line: () => string): void {
    if (this.traceTail === 0) return;
    this.trace.push(`${this.now.toFixed(3)} ${line()}`);
    if (this.trace.length > this.traceTail) this.trace.shift();
  }

  private apply(e: SimEvent): void {
    this.mix(Math.floor(this.now * 1000));
    switch (e.kind) {
      case 'deliver':
        this.mix(1); this.mix(e.from); this.mix(e.to);
        return this.arrive(e.from, e.to, e.wire, e.msg);
      case 'handle':
        this.mix(8); this.mix(e.to);
        if (e.life !== this.node(e.to).crashes) return; // queued before a crash: lost with the node
        return this.handle(e.from, e.to, e.wire, e.msg);
      case 'timer': {
        this.mix(2); this.mix(e.node);
        const sn = this.node(e.node);
        if (sn.replica === null || this.now !== sn.timerAt) return;
        sn.timerAt = Number.POSITIVE_INFINITY;
        sn.replica.tick(Math.max(this.local(e.node), sn.timerLocal));
        return this.afterStep(e.node);
      }
      case 'propose':
        this.mix(3); this.mix(e.node);
        return this.submit(e.node, e.value);
      case 'arrive':
        this.mix(9);
        return this.workload.arrive(this.now);
      case 'crash':
        this.mix(4); this.mix(e.node);
        return this.crash(e.node);
      case 'restart':
        this.mix(5); this.mix(e.node);
        return this.restart(e.node);
      case 'cut':
        this.mix(6);
        for (const [a, b] of e.links) {
          const row = this.blocked[a];
          if (row !== undefined) row[b] = e.on;
        }
        this.note(() => `${e.on ? 'cut' : 'restored'} ${e.links.length} links`);
        return;
      case 'heal':
        this.mix(7);
        return this.heal();
    }
  }

  /** A message reaches `to`: handled now, or queued behind the messages the node is still busy with. */
  private arrive(from: NodeId, to: NodeId, wire: unknown, msg: Message | null): void {
    if (this.processing_ms === 0) return this.handle(from, to, wire, msg);
    const sn = this.node(to);
    if (sn.replica === null) return;
    sn.busyUntil = Math.max(this.now, sn.busyUntil) + this.processing_ms;
    this.queue.push(sn.busyUntil, { kind: 'handle', from, to, wire, msg, life: sn.crashes });
  }

  /** `decoded`: the message when the simulator itself encoded `wire` (decoded once per broadcast at send); null for junk. */
  private handle(from: NodeId, to: NodeId, wire: unknown, decoded: Message | null): void {
    const r = this.node(to).replica;
    if (r === null) return;
    const msg = decoded ?? decode(wire);
    if (typeof msg === 'string') {
      this.malformed++;
      this.note(() => `n${to} dropped malformed from n${from}: ${msg}`);
      return;
    }
    this.mix(msg.t);
    this.note(() => `n${from}->n${to} ${JSON.stringify(wire)}`);
    this.cfg.timeline?.received(this.now, from, to, msg);
    r.receive(from, msg, this.local(to));
    this.afterStep(to);
  }

  private submit(node: NodeId, value: Value): void {
    const sn = this.node(node);
    this.proposals++;
    this.scheduled--;
    this.lastSubmit = this.now;
    this.checker.proposedValue(value);
    this.meter.submitted(value, this.now);
    if (!sn.owed.has(value)) {
      sn.owed.add(value);
      this.owedTotal++;
    }
    this.note(() => `client -> n${node} propose ${value}`);
    if (sn.replica === null) return; // re-proposed when the node restarts
    sn.replica.propose(value, this.local(node));
    this.afterStep(node);
  }

  private crash(node: NodeId): void {
    const sn = this.node(node);
    if (sn.replica === null) return;
    addStats(this.stats, sn.replica.stats);
    sn.replica = null;
    sn.crashes++;
    sn.timerAt = Number.POSITIVE_INFINITY;
    sn.busyUntil = 0;
    this.meter.duels.crashed(node);
    this.note(() => `n${node} crashed`);
  }

  private restart(node: NodeId): void {
    const sn = this.node(node);
    if (sn.replica !== null) return;
    this.note(() => `n${node} restarted on ${sn.records.length} records`);
    this.boot(node);
    // The client retries what it was owed.
    const r = this.node(node).replica;
    for (const v of sn.owed) r?.propose(v, this.local(node));
    this.afterStep(node);
  }

  private heal(): void {
    this.healed = true;
    for (const row of this.blocked) row.fill(false);
    for (let id = 0; id < this.nodes.length; id++) {
      if (this.node(id).replica === null) this.queue.push(this.now, { kind: 'restart', node: id });
    }
    this.note(() => 'faults stop');
  }

  /** Applies a replica's effects in the required order: persist, then send, then decisions. */
  private afterStep(id: NodeId): void {
    const sn = this.node(id);
    const r = sn.replica;
    if (r === null) return;
    r.endTurn(this.local(id));
    const ready = r.takeReady();
    applyReady(id, ready, this.sinks[id] ?? this.sinkFor(id, sn));
    if (id >= this.acceptors) this.countProposerOnly(ready);
    this.meter.stepped(id, ready, this.now);
    this.meter.settle(id, this.views[id] as ProposerView);
    // An installed snapshot made effects of its own (the mark to persist, the role's next work): apply them now.
    if (this.installedIn === id) {
      this.installedIn = -1;
      return this.afterStep(id);
    }
    this.armTimer(id, sn, r);
  }

  private countProposerOnly(ready: Ready): void {
    for (const o of ready.messages) {
      const t = o.msg.t;
      if (t === MsgType.Prepare) this.proposerOnlySent.prepares++;
      else if (t === MsgType.Promise || t === MsgType.Accepted) this.proposerOnlySent.votes++;
    }
  }

  private armTimer(id: NodeId, sn: SimNode, r: Replica): void {
    const deadline = r.nextDeadline();
    if (deadline === Number.POSITIVE_INFINITY) return;
    const at = Math.max(this.now, this.realOf(id, deadline));
    if (at < sn.timerAt) {
      sn.timerAt = at;
      sn.timerLocal = deadline;
      this.queue.push(at, { kind: 'timer', node: id });
    }
  }

  /** Where node `id`'s effects go: its durable records, the ghost state, the simulated network. */
  private sinkFor(id: NodeId, sn: SimNode): ReadySink {
    return {
      persist: (records) => {
        for (const rec of records) {
          sn.records.push(rec);
          this.checker.persisted(id, rec);
        }
      },
      observe: (to, msg) => {
        this.checker.sent(id, msg);
        this.cfg.timeline?.sent(this.now, id, to, msg);
      },
      send: (to, msg) => this.transmit(id, to, msg),
      decided: (decisions) => {
        this.cfg.timeline?.learned(this.now, id, decisions);
        for (const d of decisions) this.decided(id, sn, d);
      },
      install: (s) => this.install(id, sn, s),
    };
  }

  /** A snapshot of what node `id` applied: durable, the core told, the records compacted to its live state. */
  private snapshotTaken(id: NodeId, sn: SimNode, s: HeldSnapshot): void {
    const r = sn.replica;
    if (r === null) return;
    sn.snap = s;
    this.checker.snapshotAt(id, s.index);
    r.snapshotTaken(s);
    sn.records = r.durableState();
  }

  /** A snapshot a peer sent: checked against the values chosen below it, then installed. */
  private install(id: NodeId, sn: SimNode, s: HeldSnapshot): void {
    const r = sn.replica;
    if (r === null || sn.app === null) return;
    const { index, hash } = parseSnapshot(s.data);
    if (index !== s.index || hashOfChosen((slot) => this.checker.chosenIn(slot), index) !== hash) {
      this.checker.report('snapshot-chosen', `n${id} was sent a snapshot at ${s.index} that does not hold the values chosen below it`);
      return r.snapshotRefused(s.index);
    }
    sn.snap = s;
    this.checker.snapshotAt(id, s.index);
    // What a real applier's dedupe table (carried in the snapshot) knows: the commands applied below the index.
    const held = this.commandsChosenBelow(s.index);
    r.snapshotInstalled(s, this.local(id), (v) => held.has(v));
    for (const v of [...sn.owed]) if (held.has(v)) this.settle(id, sn, v);
    for (const taken of sn.app.restore(s)) this.snapshotTaken(id, sn, taken);
    this.installedIn = id;
    this.note(() => `n${id} installed a snapshot at ${s.index}`);
  }

  /** A value node `id` owed is decided (learned, or held by a snapshot it installed). */
  private settle(id: NodeId, sn: SimNode, value: Value): void {
    if (!sn.owed.delete(value)) return;
    this.owedTotal--;
    this.decidedOwn++;
    this.meter.committedAt(id, value, this.now);
    this.workload.decided(clientOf(value), this.now);
  }

  /** The commands chosen in slots [0, index) (the ghost state), batches split. */
  private commandsChosenBelow(index: Slot): Set<Value> {
    const held = new Set<Value>();
    for (let slot = 0; slot < index; slot++) {
      const v = this.checker.chosenIn(slot);
      if (v === undefined) continue;
      for (const c of isBatch(v) ? (commandsOf(v) ?? []) : [v]) held.add(c);
    }
    return held;
  }

  private decided(id: NodeId, sn: SimNode, d: Decision): void {
    this.checker.learnedBy(id, d.slot, d.value);
    if (sn.app !== null) for (const s of sn.app.learned(d.slot, d.value)) this.snapshotTaken(id, sn, s);
    // A leader's batch holds several commands (src/paxos/batch.ts): each is a proposal of its own.
    for (const value of isBatch(d.value) ? (commandsOf(d.value) ?? []) : [d.value]) this.settle(id, sn, value);
    if (this.firstDecision === null) this.firstDecision = this.now;
    if (this.now - this.lastDecision > this.livelock_ms && this.outstanding() > 0) this.livelockEpisodes++;
    this.lastDecision = this.now;
  }

  /**
   * The wire form of `msg` and the message every receiver gets: encoded and
   * decoded again (the receivers never share an object with the sender's
   * state, and the codec round trip is exercised), once per broadcast, since
   * a broadcast sends one message object to every node.
   */
  private onWire(msg: Message): { wire: Wire; msg: Message } {
    if (this.lastSent !== null && this.lastSent.sent === msg) return this.lastSent;
    const wire = encode(msg);
    const back = decode(wire);
    if (typeof back === 'string') throw new Error(`the codec cannot read what it wrote: ${back}`);
    this.cfg.timeline?.sameMessage(back, msg);
    this.lastSent = { sent: msg, wire, msg: back };
    return this.lastSent;
  }

  private transmit(from: NodeId, to: NodeId, sent: Message): void {
    this.messages++;
    const p = this.healed ? CALM : this.plan;
    if (this.blocked[from]?.[to] === true) return;
    if (p.garbage > 0 && this.rng.chance(p.garbage)) {
      const junk: unknown[] = [[], 'junk', [99, 1], [1, -1, 2, 0], [3, 0, 65536, 7], { t: 1 }, [6, 1.5, 'x']];
      this.queue.push(this.now + p.delayMin_ms, { kind: 'deliver', from, to, wire: this.rng.pick(junk), msg: null });
    }
    if (p.drop > 0 && this.rng.chance(p.drop)) return;
    const copies = p.duplicate > 0 && this.rng.chance(p.duplicate) ? 2 : 1;
    const { wire, msg } = this.onWire(sent);
    for (let i = 0; i < copies; i++) {
      const delay = this.network === null ? this.rng.between(p.delayMin_ms, p.delayMax_ms) : this.network.draw(from, to);
      this.queue.push(this.now + delay, { kind: 'deliver', from, to, wire, msg });
    }
  }

  /** Proposals submitted and not yet decided at the node they were submitted to (the sum of the nodes' `owed`). */
  private outstanding(): number {
    return this.owedTotal;
  }

  private allDone(): boolean {
    if (!this.workload.finished || this.scheduled > 0 || this.outstanding() > 0) return false;
    const top = this.checker.highestChosen;
    for (const sn of this.nodes) if (sn.replica === null || sn.replica.firstUndecided <= top) return false;
    return true;
  }

  private undecidedSummary(): string {
    const owed = this.nodes.map((sn, i) => `n${i}:${sn.owed.size}`).join(' ');
    const lag = this.nodes.map((sn, i) => `n${i}@${sn.replica?.firstUndecided ?? 'down'}`).join(' ');
    const top = this.checker.highestChosen;
    // A learner whose first undecided slot is below a chosen one stalls there: its applied log stops.
    const stuck = this.nodes.flatMap((sn, i) => (sn.replica !== null && sn.replica.firstUndecided <= top ? [`n${i} at slot ${sn.replica.firstUndecided}`] : []));
    const hole = stuck.length === 0 ? '' : `; learners stuck behind a hole: ${stuck.join(', ')} (chosen up to ${top})`;
    return `owed ${owed}; learned up to ${lag}; highest chosen ${top}${hole}`;
  }

  /** Nodes that could answer a lease read now (the lease-read invariant, src/verify/invariants.ts). */
  private leaseReaders(): LeaseReader[] {
    const readers: LeaseReader[] = [];
    for (let id = 0; id < this.nodes.length; id++) {
      const r = this.node(id).replica;
      const index = r === null ? -1 : r.leaseReadIndex(this.local(id));
      if (r !== null && index >= 0) readers.push({ node: id, ballot: r.leader?.state.leadBallot ?? 0, index, applied: r.firstUndecided });
    }
    return readers;
  }

  private checkLeases(): void {
    let holder = -1;
    for (let id = 0; id < this.nodes.length; id++) {
      const r = this.node(id).replica;
      if (r === null || !r.leaseValid(this.local(id))) continue;
      if (holder >= 0) {
        this.checker.report('lease-exclusive', `n${holder} and n${id} both hold a lease at ${this.now.toFixed(3)} ms`);
        return;
      }
      holder = id;
    }
  }
}

/** The duel tracker's view of a node's proposer (the node's replica changes on a restart: read it each time). */
function viewOf(sn: SimNode): ProposerView {
  return {
    preparingBallot: (slot) => (sn.replica === null ? -1 : preparingBallot(sn.replica, slot)),
    get leadership() {
      return sn.replica === null ? 'idle' : leadership(sn.replica);
    },
  };
}
