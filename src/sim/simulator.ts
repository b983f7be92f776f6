/**
 * Deterministic discrete-event simulator. One seeded random source drives the
 * fault plan, the network and every replica's injected randomness; a virtual
 * clock drives time (each replica reads it through its own drifting clock).
 * The same seed replays the same run, event for event (see `eventHash`).
 *
 * A run has two phases: faults (loss, duplication, delay and reordering,
 * partitions, crashes and restarts), then a healed phase in which every
 * proposal must be decided within `liveness_ms`. Safety invariants are checked
 * on every step (invariants.ts); lease overlap too, for the lease policy.
 */
import { decode, encode, type Wire } from '../paxos/codec.js';
import type { NodeId } from '../paxos/ballot.js';
import type { Value } from '../paxos/messages.js';
import { Replica, type Decision, type PlantedBugs, type ReplicaStats } from '../paxos/replica.js';
import { applyReady, type ReadySink } from '../paxos/ready.js';
import { commandsOf, isBatch } from '../paxos/batch.js';
import { STAT_KEYS, emptyStats } from '../paxos/node.js';
import type { PersistRecord } from '../paxos/storage-records.js';
import { createPolicy, type PolicySpec } from '../contention/registry.js';
import { EventQueue } from '../base/event-queue.js';
import { CALM, drawFaultPlan, type FaultPlan } from './faults.js';
import { SafetyChecker, type Violation } from '../verify/invariants.js';
import { SeededRandom } from '../base/random.js';

export interface SimConfig {
  seed: number;
  replicas: number;
  /** How many replicas receive client proposals (nodes 0 .. proposers-1). */
  proposers: number;
  policy: PolicySpec;
  proposalsPerProposer?: number;
  faultPhase_ms?: number;
  /** Bound on virtual time, after faults stop, for every proposal to be decided. */
  liveness_ms?: number;
  /** Fault plan: 'swarm' draws one from the seed, 'calm' has none, or give one. */
  faults?: 'swarm' | 'calm' | FaultPlan;
  /** Max |clock rate| for swarm plans (default 0.02, i.e. 2%). */
  maxClockRate?: number;
  attemptTimeout_ms?: number;
  /** Decided slots each replica keeps (default: all). Small values exercise forgetting; lagging replicas then cannot catch up. */
  retainDecided?: number;
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
  ballotsPerDecision: number;
  messages: number;
  malformedDropped: number;
  livelockEpisodes: number;
  plan: FaultPlan;
  stats: ReplicaStats;
  trace: string[];
}

type SimEvent =
  | { at: number; seq: number; kind: 'deliver'; from: NodeId; to: NodeId; wire: unknown }
  | { at: number; seq: number; kind: 'timer'; node: NodeId }
  | { at: number; seq: number; kind: 'propose'; node: NodeId; value: Value }
  | { at: number; seq: number; kind: 'crash'; node: NodeId }
  | { at: number; seq: number; kind: 'restart'; node: NodeId }
  | { at: number; seq: number; kind: 'cut'; links: Array<[NodeId, NodeId]>; on: boolean }
  | { at: number; seq: number; kind: 'heal' };

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
}

function addStats(into: ReplicaStats, from: ReplicaStats): void {
  for (const k of STAT_KEYS) into[k] += from[k];
}

export function runSimulation(cfg: SimConfig): SimResult {
  return new Simulation(cfg).run();
}

class Simulation {
  private readonly rng: SeededRandom;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[];
  private readonly checker: SafetyChecker;
  private readonly plan: FaultPlan;
  private readonly blocked: boolean[][];
  private readonly faultPhase_ms: number;
  private readonly liveness_ms: number;
  private readonly livelock_ms: number;
  private readonly leases: boolean;
  private readonly stats = emptyStats();
  /** One sink per node, made once (a step applies thousands of Readies). */
  private readonly sinks: ReadySink[] = [];
  private readonly trace: string[] = [];
  private now = 0;
  private healed = false;
  private hash = 0x811c9dc5;
  private events = 0;
  private proposals = 0;
  private decidedOwn = 0;
  private ballotsOwn = 0;
  private malformed = 0;
  private messages = 0;
  private firstDecision: number | null = null;
  private lastDecision = 0;
  private livelockEpisodes = 0;
  private healedDone: number | null = null;
  private readonly decidedValues = new Set<Value>();

  constructor(private readonly cfg: SimConfig) {
    if (!Number.isInteger(cfg.replicas) || cfg.replicas < 1) throw new RangeError(`replicas must be a positive integer, got ${cfg.replicas}`);
    if (!Number.isInteger(cfg.proposers) || cfg.proposers < 1 || cfg.proposers > cfg.replicas) {
      throw new RangeError(`proposers must be an integer in 1..${cfg.replicas}, got ${cfg.proposers}`);
    }
    this.rng = new SeededRandom(cfg.seed);
    this.faultPhase_ms = cfg.faultPhase_ms ?? 500;
    this.liveness_ms = cfg.liveness_ms ?? 5_000;
    this.livelock_ms = cfg.livelockThreshold_ms ?? 100;
    this.leases = cfg.policy.name === 'lease';
    const n = cfg.replicas;
    const faults = cfg.faults ?? 'swarm';
    this.plan =
      faults === 'swarm'
        ? drawFaultPlan(this.rng, { nodes: n, faultPhase_ms: this.faultPhase_ms, maxClockRate: cfg.maxClockRate ?? 0.02 })
        : faults === 'calm'
          ? { ...CALM, clockRates: new Array<number>(n).fill(0) }
          : faults;
    this.checker = new SafetyChecker(n, { checkPersistence: cfg.checkPersistence ?? true });
    this.blocked = Array.from({ length: n }, () => new Array<boolean>(n).fill(false));
    this.nodes = Array.from({ length: n }, (_, id) => ({
      replica: null, records: [], rate: this.plan.clockRates[id] ?? 0, timerAt: Number.POSITIVE_INFINITY, timerLocal: 0, owed: new Set<Value>(), crashes: 0,
    }));
    this.nodes.forEach((sn, id) => this.sinks.push(this.sinkFor(id, sn)));
    for (let id = 0; id < n; id++) this.boot(id);
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
        id, nodes: this.cfg.replicas, policy: createPolicy(this.cfg.policy), random: this.rng.fork().asFunction(),
        attemptTimeout_ms: this.cfg.attemptTimeout_ms ?? 20, sync_ms: 50, retainDecided: this.cfg.retainDecided ?? 1 << 30, batchMax: this.cfg.batchMax ?? 1, bugs: this.cfg.bugs ?? {},
      },
      this.local(id),
      sn.records,
    );
    if (sn.crashes > 0) this.checker.recovered(id, sn.replica);
    this.afterStep(id);
  }

  private schedulePlan(): void {
    const perProposer = this.cfg.proposalsPerProposer ?? 5;
    for (let p = 0; p < this.cfg.proposers; p++) {
      for (let i = 0; i < perProposer; i++) {
        const value = `n${p}.v${i}`;
        this.queue.push({ at: this.rng.between(0, this.faultPhase_ms), kind: 'propose', node: p, value });
      }
    }
    for (const c of this.plan.crashes) {
      this.queue.push({ at: c.at_ms, kind: 'crash', node: c.node });
      this.queue.push({ at: Math.min(c.at_ms + c.duration_ms, this.faultPhase_ms), kind: 'restart', node: c.node });
    }
    for (const p of this.plan.partitions) {
      this.queue.push({ at: p.at_ms, kind: 'cut', links: p.cut, on: true });
      this.queue.push({ at: Math.min(p.at_ms + p.duration_ms, this.faultPhase_ms), kind: 'cut', links: p.cut, on: false });
    }
    this.queue.push({ at: this.faultPhase_ms, kind: 'heal' });
  }

  run(): SimResult {
    const maxEvents = this.cfg.maxEvents ?? 2_000_000;
    let livenessFailure: string | null = null;
    for (;;) {
      const e = this.queue.pop();
      if (e === undefined) {
        livenessFailure = 'event queue ran dry';
        break;
      }
      if (this.healed && e.at > this.faultPhase_ms + this.liveness_ms) {
        livenessFailure = `not all decided ${this.liveness_ms} ms after faults stopped: ${this.undecidedSummary()}`;
        break;
      }
      if (++this.events > maxEvents) {
        livenessFailure = `event budget of ${maxEvents} exhausted at ${this.now.toFixed(1)} ms: ${this.undecidedSummary()}`;
        break;
      }
      this.now = e.at;
      this.apply(e);
      if (this.leases) this.checkLeases();
      if (this.healed && this.allDone()) {
        this.healedDone = this.now - this.faultPhase_ms;
        break;
      }
    }
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
      ballotsPerDecision: this.decidedOwn === 0 ? 0 : this.ballotsOwn / this.decidedOwn,
      messages: this.messages,
      malformedDropped: this.malformed,
      livelockEpisodes: this.livelockEpisodes,
      plan: this.plan,
      stats: this.stats,
      trace: this.trace,
    };
  }

  private mix(x: number): void {
    this.hash = Math.imul(this.hash ^ (x | 0), 16777619);
  }

  private note(line: string): void {
    const keep = this.cfg.traceTail ?? 0;
    if (keep === 0) return;
    this.trace.push(`${this.now.toFixed(3)} ${line}`);
    if (this.trace.length > keep) this.trace.shift();
  }

  private apply(e: SimEvent): void {
    this.mix(Math.floor(e.at * 1000));
    switch (e.kind) {
      case 'deliver': {
        this.mix(1); this.mix(e.from); this.mix(e.to);
        const r = this.node(e.to).replica;
        if (r === null) return;
        const msg = decode(e.wire);
        if (typeof msg === 'string') {
          this.malformed++;
          this.note(`n${e.to} dropped malformed from n${e.from}: ${msg}`);
          return;
        }
        this.mix(msg.t);
        this.note(`n${e.from}->n${e.to} ${JSON.stringify(e.wire)}`);
        r.receive(e.from, msg, this.local(e.to));
        return this.afterStep(e.to);
      }
      case 'timer': {
        this.mix(2); this.mix(e.node);
        const sn = this.node(e.node);
        if (sn.replica === null || e.at !== sn.timerAt) return;
        sn.timerAt = Number.POSITIVE_INFINITY;
        sn.replica.tick(Math.max(this.local(e.node), sn.timerLocal));
        return this.afterStep(e.node);
      }
      case 'propose': {
        this.mix(3); this.mix(e.node);
        const sn = this.node(e.node);
        this.proposals++;
        this.checker.proposedValue(e.value);
        sn.owed.add(e.value);
        this.note(`client -> n${e.node} propose ${e.value}`);
        if (sn.replica === null) return; // re-proposed when the node restarts
        sn.replica.propose(e.value, this.local(e.node));
        return this.afterStep(e.node);
      }
      case 'crash': {
        this.mix(4); this.mix(e.node);
        const sn = this.node(e.node);
        if (sn.replica === null) return;
        addStats(this.stats, sn.replica.stats);
        sn.replica = null;
        sn.crashes++;
        sn.timerAt = Number.POSITIVE_INFINITY;
        this.note(`n${e.node} crashed`);
        return;
      }
      case 'restart': {
        this.mix(5); this.mix(e.node);
        const sn = this.node(e.node);
        if (sn.replica !== null) return;
        this.note(`n${e.node} restarted on ${sn.records.length} records`);
        this.boot(e.node);
        // The client retries what it was owed.
        const r = this.node(e.node).replica;
        for (const v of sn.owed) r?.propose(v, this.local(e.node));
        return this.afterStep(e.node);
      }
      case 'cut':
        this.mix(6);
        for (const [a, b] of e.links) {
          const row = this.blocked[a];
          if (row !== undefined) row[b] = e.on;
        }
        this.note(`${e.on ? 'cut' : 'restored'} ${e.links.length} links`);
        return;
      case 'heal':
        this.mix(7);
        this.healed = true;
        for (const row of this.blocked) row.fill(false);
        for (let id = 0; id < this.nodes.length; id++) {
          if (this.node(id).replica === null) this.queue.push({ at: this.now, kind: 'restart', node: id });
        }
        this.note('faults stop');
        return;
    }
  }

  /** Applies a replica's effects in the required order: persist, then send, then decisions. */
  private afterStep(id: NodeId): void {
    const sn = this.node(id);
    const r = sn.replica;
    if (r === null) return;
    r.endTurn(this.local(id));
    applyReady(id, r.takeReady(), this.sinks[id] ?? this.sinkFor(id, sn));
    const deadline = r.nextDeadline();
    if (deadline !== Number.POSITIVE_INFINITY) {
      const at = Math.max(this.now, this.realOf(id, deadline));
      if (at < sn.timerAt) {
        sn.timerAt = at;
        sn.timerLocal = deadline;
        this.queue.push({ at, kind: 'timer', node: id });
      }
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
      observe: (_to, msg) => this.checker.sent(id, msg),
      send: (to, msg) => this.transmit(id, to, encode(msg)),
      decided: (decisions) => {
        for (const d of decisions) this.decided(id, sn, d);
      },
    };
  }

  private decided(id: NodeId, sn: SimNode, d: Decision): void {
    this.checker.learnedBy(id, d.slot, d.value);
    for (const value of isBatch(d.value) ? (commandsOf(d.value) ?? []) : [d.value]) {
      if (sn.owed.delete(value)) {
        this.decidedOwn++;
        this.ballotsOwn += Math.max(d.ballots, 1);
      }
      this.decidedValues.add(value);
    }
    if (this.firstDecision === null) this.firstDecision = this.now;
    if (this.now - this.lastDecision > this.livelock_ms && this.outstanding() > 0) this.livelockEpisodes++;
    this.lastDecision = this.now;
  }

  private transmit(from: NodeId, to: NodeId, wire: Wire): void {
    this.messages++;
    const p = this.healed ? CALM : this.plan;
    if (this.blocked[from]?.[to] === true) return;
    if (p.garbage > 0 && this.rng.chance(p.garbage)) {
      const junk: unknown[] = [[], 'junk', [99, 1], [1, -1, 2, 0], [3, 0, 65536, 7], { t: 1 }, [6, 1.5, 'x']];
      this.queue.push({ at: this.now + p.delayMin_ms, kind: 'deliver', from, to, wire: this.rng.pick(junk) });
    }
    if (p.drop > 0 && this.rng.chance(p.drop)) return;
    const copies = p.duplicate > 0 && this.rng.chance(p.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.queue.push({ at: this.now + this.rng.between(p.delayMin_ms, p.delayMax_ms), kind: 'deliver', from, to, wire });
    }
  }

  private outstanding(): number {
    let n = 0;
    for (const sn of this.nodes) n += sn.owed.size;
    return n;
  }

  private allDone(): boolean {
    if (this.outstanding() > 0) return false;
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

