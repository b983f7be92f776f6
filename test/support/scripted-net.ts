/**
 * A hand-driven network for scripted scenarios: replicas are real cores, and
 * the test decides which message is delivered when. Effects are applied in the
 * core's order (persist, send, decide) and every send is shown to a SafetyChecker.
 */
import type { NodeId } from '../../src/paxos/ballot.js';
import type { Message, Slot, Value } from '../../src/paxos/messages.js';
import { Replica, type HeldSnapshot, type ReplicaConfig } from '../../src/paxos/replica.js';
import type { PersistRecord } from '../../src/paxos/storage-records.js';
import { applyReady } from '../../src/paxos/ready.js';
import { createPolicy, policySpec, type PolicySpec } from '../../src/contention/registry.js';
import { SafetyChecker } from '../../src/verify/invariants.js';
import { SeededRandom } from '../../src/base/random.js';
import type { BallotRecorder } from '../../src/report/ballot-timeline.js';

export interface InFlight {
  from: NodeId;
  to: NodeId;
  msg: Message;
}

export class ScriptedNet {
  readonly replicas: Replica[];
  readonly records: PersistRecord[][];
  readonly checker: SafetyChecker;
  inflight: InFlight[] = [];
  /** Every send, self-addressed ones included, in order. */
  readonly log: InFlight[] = [];
  readonly decisions: Array<{ node: NodeId; slot: Slot; value: Value; ballots: number }> = [];
  /** Snapshots received whole (the Ready's install), in order. */
  readonly installs: Array<{ node: NodeId; snapshot: HeldSnapshot }> = [];
  /** What the driver does with one: by default it restores it and tells the core (false: refuses it). */
  acceptInstall: (node: NodeId, s: HeldSnapshot) => boolean = () => true;
  now = 0;
  /** Deliveries so far: the time of a ballot timeline recorded from this net (its unit is the step). */
  step = 0;
  /** Set to record the ballot timeline of the script. */
  timeline: BallotRecorder | null = null;

  constructor(nodes: number, policy: string | PolicySpec = 'immediate', extra: Partial<ReplicaConfig> = {}, checks: { leaseReads?: boolean } = {}) {
    const spec = typeof policy === 'string' ? policySpec(policy) : policy;
    const rng = new SeededRandom(7);
    this.checker = new SafetyChecker(nodes, checks);
    this.records = Array.from({ length: nodes }, () => []);
    this.replicas = Array.from({ length: nodes }, (_, id) =>
      Replica.start({ id, nodes, policy: createPolicy(spec), random: rng.fork().asFunction(), attemptTimeout_ms: 1e9, sync_ms: 1e9, ...extra }, 0),
    );
  }

  replica(id: NodeId): Replica {
    const r = this.replicas[id];
    if (r === undefined) throw new RangeError(`no replica ${id}`);
    return r;
  }

  propose(node: NodeId, value: Value): void {
    this.checker.proposedValue(value);
    this.replica(node).propose(value, this.now);
    this.flush(node);
  }

  /** Delivers the first in-flight message matching `pred`; returns it (throws if none matches). */
  deliver(pred: (m: InFlight) => boolean): InFlight {
    const i = this.inflight.findIndex(pred);
    if (i < 0) throw new Error('no in-flight message matches');
    const [m] = this.inflight.splice(i, 1);
    if (m === undefined) throw new Error('unreachable');
    this.timeline?.received(++this.step, m.from, m.to, m.msg);
    this.replica(m.to).receive(m.from, m.msg, this.now);
    this.flush(m.to);
    return m;
  }

  /** Delivers messages, choosing each with `pick` (an index into inflight), until none is left or `max` deliveries. */
  run(pick: (inflight: InFlight[]) => number, max: number): number {
    let n = 0;
    while (this.inflight.length > 0 && n < max) {
      const i = pick(this.inflight);
      const [m] = this.inflight.splice(i, 1);
      if (m === undefined) break;
      this.timeline?.received(++this.step, m.from, m.to, m.msg);
      this.replica(m.to).receive(m.from, m.msg, this.now);
      this.flush(m.to);
      n++;
    }
    return n;
  }

  /** Restarts `node` on its persisted records: volatile state (learner, proposer) is lost. */
  restart(node: NodeId, cfg: ReplicaConfig): void {
    this.replicas[node] = Replica.start(cfg, this.now, this.records[node] ?? []);
    this.checker.recovered(node, this.replica(node));
    this.flush(node);
  }

  /**
   * Moves the clock to `until`, firing each node's timers at their deadlines
   * and delivering every message in flight (FIFO, minus those `drop` refuses)
   * at the instant it is sent. Bounded by `maxSteps` timer firings.
   */
  runUntil(until: number, drop: (m: InFlight) => boolean = () => false, maxSteps = 100_000): void {
    for (let step = 0; step < maxSteps; step++) {
      this.deliverAll(drop);
      let next = Number.POSITIVE_INFINITY;
      let who = -1;
      this.replicas.forEach((r, id) => {
        if (r.nextDeadline() < next) [next, who] = [r.nextDeadline(), id];
      });
      if (who < 0 || next > until) break;
      this.now = Math.max(this.now, next);
      this.replica(who).tick(this.now);
      this.flush(who);
    }
    this.now = Math.max(this.now, until);
  }

  private deliverAll(drop: (m: InFlight) => boolean): void {
    for (let n = 0; n < 1_000_000 && this.inflight.length > 0; n++) {
      const m = this.inflight.shift() as InFlight;
      if (drop(m)) continue;
      this.timeline?.received(++this.step, m.from, m.to, m.msg);
      this.replica(m.to).receive(m.from, m.msg, this.now);
      this.flush(m.to);
    }
  }

  flush(node: NodeId): void {
    const r = this.replica(node);
    r.endTurn(this.now);
    applyReady(node, r.takeReady(), {
      persist: (records) => {
        for (const rec of records) {
          this.records[node]?.push(rec);
          this.checker.persisted(node, rec);
        }
      },
      observe: (to, msg) => {
        this.checker.sent(node, msg);
        this.timeline?.sent(this.step, node, to, msg);
        this.log.push({ from: node, to, msg });
      },
      send: (to, msg) => {
        this.inflight.push({ from: node, to, msg });
      },
      decided: (decisions) => {
        this.timeline?.learned(this.step, node, decisions);
        for (const d of decisions) {
          this.checker.learnedBy(node, d.slot, d.value);
          this.decisions.push({ node, slot: d.slot, value: d.value, ballots: d.ballots });
        }
      },
      install: (snapshot) => {
        this.installs.push({ node, snapshot });
        if (!this.acceptInstall(node, snapshot)) return r.snapshotRefused(snapshot.index);
        this.checker.snapshotAt(node, snapshot.index);
        r.snapshotInstalled(snapshot, this.now);
      },
    });
    // An install made effects of its own (the mark to persist, the role's next work).
    if (this.pendingAfterInstall(node)) this.flush(node);
  }

  private lastInstalls = 0;
  private pendingAfterInstall(node: NodeId): boolean {
    const n = this.installs.length;
    const more = n > this.lastInstalls && this.installs[n - 1]?.node === node;
    this.lastInstalls = n;
    return more;
  }
}
