/**
 * One replica: acceptor, proposer (coordinator) and learner, as a pure state
 * machine. Inputs: `propose`, `receive`, `tick`, each with the node's clock
 * reading. Outputs accumulate in a `Ready` (etcd-raft style) that the driver
 * takes and applies in order: persist the records, then send the messages,
 * then publish the decisions. No clock, randomness or I/O in here: time is an
 * argument and randomness comes from the injected `random`.
 *
 * Two proposer modes, chosen by the contention policy:
 * - per slot (no election): each proposal runs phase 1 and phase 2 in the next
 *   free slot; on the first rejection or a timeout the policy says when to retry.
 * - stable leader (election): the node Omega trusts runs one open phase 1 for
 *   every slot from its first undecided one, then only phase 2 for new slots,
 *   with a window of slots in flight; other nodes forward proposals to it.
 */
import { Acceptor } from './acceptor.js';
import { MAX_NODES, NO_BALLOT, makeBallot, nextBallot, roundOf, type Ballot, type NodeId } from './ballot.js';
import { Learner } from './learner.js';
import { MsgType, NOOP, type Message, type Slot, type Value, type Vote } from './messages.js';
import { QuorumCounter, majority } from './quorum.js';
import type { PersistRecord } from './storage-records.js';
import type { ContentionPolicy, FailureReason } from './policy.js';
import { Omega } from './election.js';
import { LeaseGrantor, LeaseHolder } from './lease.js';

/** Test-only switches that plant known bugs, so tests can prove the checkers catch them. */
export interface PlantedBugs {
  quorumOneTooSmall?: boolean;
  acceptBelowPromise?: boolean;
  proposeArbitraryValue?: boolean;
  reuseBallotAfterRestart?: boolean;
  skipPersistPromise?: boolean;
}

export interface ReplicaConfig {
  id: NodeId;
  nodes: number;
  policy: ContentionPolicy;
  /** Uniform in [0, 1): the injected random source. */
  random: () => number;
  /** An attempt without a quorum for this long has failed (per-slot mode) or is resent (leader phase 2). */
  attemptTimeout_ms?: number;
  /** Every this often a replica asks a peer for decisions it may have missed (and looks for holes to fill). */
  sync_ms?: number;
  /**
   * Per-slot mode: a hole (an undecided slot below one known to be decided or
   * voted) that peers have not filled for this long, times (1 + id), gets
   * filled by this replica running Paxos on it. Staggered by id, so the lowest
   * live id fills first and the stuck replicas do not duel. Default 2 * sync_ms.
   */
  holeGrace_ms?: number;
  /** Bound on proposals queued at this replica (pending + forwarded). */
  maxPending?: number;
  /** Decided slots kept in memory below the first undecided one. */
  retainDecided?: number;
  bugs?: PlantedBugs;
}

export interface Outgoing {
  to: NodeId;
  msg: Message;
}

export interface Decision {
  slot: Slot;
  value: Value;
  /** Ballots this replica used for the value if it coordinated it; 0 if it only learned it. */
  ballots: number;
}

/** Effects of the inputs since the last take, to apply in this order. */
export interface Ready {
  persist: PersistRecord[];
  /**
   * Every message sent, in order. Those addressed to this node itself were
   * already handled in the same step: drivers skip them, observers (the
   * simulator's ghost state) see them in order with the rest.
   */
  messages: Outgoing[];
  decisions: Decision[];
}

export interface ReplicaStats {
  proposals: number;
  decisions: number;
  ballotsStarted: number;
  nacks: number;
  timeouts: number;
  phase1Retries: number;
  leaderChanges: number;
  leaseExpiries: number;
  /** Slots this replica started Paxos on to fill a hole nobody else filled. */
  holesFilled: number;
  forwarded: number;
  staleMessages: number;
  conflictingDecides: number;
  messagesIn: number;
  messagesOut: number;
}

const enumPhase = { Backoff: 0, Prepare: 1, Accept: 2 } as const;
type Phase = (typeof enumPhase)[keyof typeof enumPhase];

interface Instance {
  slot: Slot;
  /** The value this node wants chosen, or null when it only completes another's (leader recovery). */
  own: Value | null;
  /** The value in phase 2. */
  value: Value;
  ballot: Ballot;
  phase: Phase;
  ballots: number;
  failures: number;
  promises: QuorumCounter;
  best: Vote | null;
  accepts: QuorumCounter;
}

// Timer keys: slots (>= 0) for instance timers, negatives for the replica's own.
const T_HEARTBEAT = -1;
const T_SYNC = -2;
const T_LEAD = -3;
const T_LEASE = -4;
const T_FORWARD = -5;

const LEARN_BATCH = 64;
/** Slots one Commit may make a replica scan (bounds the work per message). */
const COMMIT_SCAN_MAX = 4096;

export class Replica {
  readonly id: NodeId;
  readonly nodes: number;
  readonly stats: ReplicaStats = {
    proposals: 0, decisions: 0, ballotsStarted: 0, nacks: 0, timeouts: 0, phase1Retries: 0,
    leaderChanges: 0, leaseExpiries: 0, holesFilled: 0, forwarded: 0, staleMessages: 0, conflictingDecides: 0,
    messagesIn: 0, messagesOut: 0,
  };

  private readonly policy: ContentionPolicy;
  private readonly random: () => number;
  private readonly bugs: PlantedBugs;
  private readonly quorum: number;
  private readonly attemptTimeout_ms: number;
  private readonly sync_ms: number;
  private readonly holeGrace_ms: number;
  private readonly maxPending: number;

  private readonly acceptor: Acceptor;
  private readonly learner: Learner;
  private round = 0;
  private highestSeen: Ballot = NO_BALLOT;
  /** Values waiting for a slot; a Map keeps FIFO order and deletes in O(1). */
  private readonly pending = new Map<Value, true>();
  private readonly instances = new Map<Slot, Instance>();
  private readonly timers = new Map<number, number>();

  // Stable-leader mode.
  private readonly omega: Omega | null;
  private leadState: 'idle' | 'preparing' | 'leading' = 'idle';
  private leadBallot: Ballot = NO_BALLOT;
  private leadFailures = 0;
  private p1From: Slot = 0;
  /** The highest first slot any promise of this phase 1 covered (promisers forget decided slots). */
  private p1Covered: Slot = 0;
  private readonly p1Promises: QuorumCounter;
  private readonly p1Votes = new Map<Slot, Vote>();
  private nextSlot: Slot = 0;
  /** Values handed to the leader, with the time to re-route them if not decided by then. */
  private readonly forwarded = new Map<Value, number>();
  /**
   * Commit range under leadBallot: every slot in [commitFrom, commitTo) was
   * decided here by a quorum of Accepted for leadBallot. `quorumDecided`
   * holds such slots above commitTo, waiting for the range to reach them;
   * `advertisedTo` is how far followers have been told.
   */
  private commitFrom: Slot = 0;
  private commitTo: Slot = 0;
  private advertisedTo: Slot = 0;
  private readonly quorumDecided = new Set<Slot>();
  private lastLearnRequest_ms = Number.NEGATIVE_INFINITY;
  private syncPeer = 0;
  /** The first undecided slot while it has been a hole, and since when (per-slot mode; -1: no hole). */
  private holeSlot: Slot = -1;
  private holeSince_ms = 0;

  // Leases.
  private readonly grantor: LeaseGrantor | null;
  private readonly holder: LeaseHolder | null;
  private leaseWasValid = false;

  private loopback: Message[] = [];
  private ready: Ready = { persist: [], messages: [], decisions: [] };

  private constructor(cfg: ReplicaConfig, now_ms: number) {
    if (!Number.isInteger(cfg.nodes) || cfg.nodes < 1 || cfg.nodes > MAX_NODES) {
      throw new RangeError(`nodes must be an integer in 1..${MAX_NODES}, got ${cfg.nodes}`);
    }
    if (!Number.isInteger(cfg.id) || cfg.id < 0 || cfg.id >= cfg.nodes) {
      throw new RangeError(`id must be an integer in 0..${cfg.nodes - 1}, got ${cfg.id}`);
    }
    this.id = cfg.id;
    this.nodes = cfg.nodes;
    this.policy = cfg.policy;
    this.random = cfg.random;
    this.bugs = cfg.bugs ?? {};
    this.quorum = majority(cfg.nodes) - (this.bugs.quorumOneTooSmall ? 1 : 0);
    this.p1Promises = new QuorumCounter(this.quorum);
    this.attemptTimeout_ms = cfg.attemptTimeout_ms ?? 50;
    this.sync_ms = cfg.sync_ms ?? 100;
    this.holeGrace_ms = cfg.holeGrace_ms ?? 2 * this.sync_ms;
    this.maxPending = cfg.maxPending ?? 4096;
    this.acceptor = new Acceptor({ acceptBelowPromise: this.bugs.acceptBelowPromise ?? false });
    this.learner = new Learner(cfg.retainDecided ?? 10_000);
    const election = cfg.policy.election;
    this.omega = election === null ? null : new Omega(cfg.id, cfg.nodes, election, cfg.random, now_ms);
    const lease = election === null ? null : cfg.policy.lease;
    this.grantor = lease === null ? null : new LeaseGrantor(lease, now_ms);
    this.holder = lease === null ? null : new LeaseHolder(lease, this.quorum);
    if (this.omega !== null) this.timers.set(T_HEARTBEAT, now_ms);
    // An infinite period (anti-entropy off) arms nothing: the timer could never fire.
    if (Number.isFinite(this.sync_ms)) this.timers.set(T_SYNC, now_ms + this.sync_ms * (0.5 + cfg.random()));
  }

  /** A fresh replica, or one restarted on its persisted records (volatile state is lost, durable state kept). */
  static start(cfg: ReplicaConfig, now_ms: number, records: Iterable<PersistRecord> = []): Replica {
    const r = new Replica(cfg, now_ms);
    for (const rec of records) {
      if (rec.k === 'round') r.round = Math.max(r.round, rec.round);
      else r.acceptor.apply(rec);
    }
    return r;
  }

  // ---- inputs ------------------------------------------------------------

  /** Queues a client value. Returns false (and changes nothing) when the pending queue is full. */
  propose(value: Value, now_ms: number): boolean {
    if (value === NOOP) throw new RangeError('the empty string is reserved for no-ops');
    if (!this.enqueue(value, now_ms)) return false;
    this.stats.proposals++;
    this.drainLoopback(now_ms);
    return true;
  }

  private enqueue(value: Value, now: number): boolean {
    if (this.pending.has(value) || this.forwarded.has(value)) return true;
    if (this.pending.size + this.forwarded.size >= this.maxPending) return false;
    this.pending.set(value, true);
    this.pump(now);
    return true;
  }

  receive(from: NodeId, msg: Message, now_ms: number): void {
    this.stats.messagesIn++;
    this.handle(from, msg, now_ms);
    this.drainLoopback(now_ms);
  }

  /** Fires every timer due at `now_ms`. */
  tick(now_ms: number): void {
    const due: number[] = [];
    for (const [key, at] of this.timers) if (at <= now_ms) due.push(key);
    for (const key of due) {
      this.timers.delete(key);
      this.fire(key, now_ms);
    }
    this.drainLoopback(now_ms);
  }

  /** The earliest timer deadline on this node's clock, or Infinity. */
  nextDeadline(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const at of this.timers.values()) if (at < min) min = at;
    return min;
  }

  takeReady(): Ready {
    // One Commit per follower per Ready (a driver turn) instead of a Decide per slot per follower.
    if (this.leadState === 'leading') this.advanceCommit(false);
    const r = this.ready;
    this.ready = { persist: [], messages: [], decisions: [] };
    return r;
  }

  // ---- introspection (for drivers, the simulator's invariants and tests) --

  promisedIn(slot: Slot): Ballot {
    return this.acceptor.promisedIn(slot);
  }
  voteIn(slot: Slot): Vote | null {
    return this.acceptor.vote(slot);
  }
  decided(slot: Slot): Value | undefined {
    return this.learner.get(slot);
  }
  get firstUndecided(): Slot {
    return this.learner.firstUndecided;
  }
  get highestDecided(): Slot {
    return this.learner.highestDecided;
  }
  /** Proposals this node still owes an answer for (queued, in flight or forwarded). */
  get outstanding(): number {
    let own = 0;
    for (const inst of this.instances.values()) if (inst.own !== null) own++;
    return this.pending.size + this.forwarded.size + own;
  }
  leaseValid(now_ms: number): boolean {
    return this.holder !== null && this.leadState !== 'idle' && this.holder.valid(now_ms);
  }

  // ---- message handling ----------------------------------------------------

  private handle(from: NodeId, m: Message, now: number): void {
    this.omega?.heard(from, now);
    switch (m.t) {
      case MsgType.Prepare:
        this.see(m.ballot);
        return this.onPrepare(from, m.slot, m.ballot, m.open, now);
      case MsgType.Accept:
        this.see(m.ballot);
        return this.onAccept(from, m.slot, m.ballot, m.value);
      case MsgType.Promise:
        this.see(m.ballot);
        if (m.open) return this.onOpenPromise(from, m.slot, m.ballot, m.votes, now);
        return this.onPromise(from, m.slot, m.ballot, m.votes, now);
      case MsgType.Accepted:
        this.see(m.ballot);
        return this.onAccepted(from, m.slot, m.ballot, now);
      case MsgType.Nack:
        this.see(m.promised);
        return this.onNack(m.slot, m.ballot, now);
      case MsgType.Decide:
        return this.learn(m.slot, m.value, now);
      case MsgType.Forward:
        return this.onForward(m.value, now);
      case MsgType.Heartbeat:
        this.see(m.ballot);
        if (m.decidedUpTo > this.learner.firstUndecided) this.requestLearn(from, now);
        return;
      case MsgType.LeaseRequest:
        if (this.grantor !== null && this.grantor.tryGrant(from, now)) {
          this.send(from, { t: MsgType.LeaseGrant, ballot: m.ballot, seq: m.seq });
        }
        return;
      case MsgType.LeaseGrant:
        this.holder?.granted(from, m.seq);
        return;
      case MsgType.LearnRequest:
        return this.onLearnRequest(from, m.slot);
      case MsgType.Commit:
        this.see(m.ballot);
        return this.onCommit(m.ballot, m.from, m.to, now);
    }
  }

  /** Learn the slots of a leader's commit range in which our own vote has exactly its ballot. */
  private onCommit(ballot: Ballot, from: Slot, to: Slot, now: number): void {
    const start = Math.max(from, this.learner.firstUndecided, this.learner.forgottenBelow);
    const end = Math.min(to, start + COMMIT_SCAN_MAX);
    for (let s = start; s < end; s++) {
      if (this.learner.has(s)) continue;
      const v = this.acceptor.vote(s);
      // A vote at another ballot may be stale (another value may have been chosen): leave it to Decide/sync.
      if (v !== null && v.ballot === ballot) this.learn(s, v.value, now);
    }
  }

  /**
   * Moves the commit range over slots decided by quorum at leadBallot. A slot
   * learned any other way ends the range (it may have been chosen at another
   * ballot, where a follower's vote at leadBallot would be stale): the range
   * restarts after it, once followers have been told the old one.
   * `force`: advertise the whole range again (heartbeat: repairs a lost Commit).
   */
  private advanceCommit(force: boolean): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const s = this.commitTo;
      if (this.quorumDecided.delete(s)) {
        this.commitTo = s + 1;
      } else if (s < this.learner.forgottenBelow || this.learner.has(s)) {
        this.sendCommit();
        this.commitFrom = this.commitTo = this.advertisedTo = s + 1;
      } else break;
    }
    if (force) this.advertisedTo = this.commitFrom;
    this.sendCommit();
  }

  private sendCommit(): void {
    if (this.commitTo <= this.advertisedTo) return;
    this.advertisedTo = this.commitTo;
    this.broadcastOthers({ t: MsgType.Commit, ballot: this.leadBallot, from: this.commitFrom, to: this.commitTo });
  }

  private see(b: Ballot): void {
    if (b > this.highestSeen) this.highestSeen = b;
  }

  private onPrepare(from: NodeId, slot: Slot, ballot: Ballot, open: boolean, now: number): void {
    if (!open) {
      if (slot < this.learner.forgottenBelow) return void this.stats.staleMessages++;
      const v = this.learner.get(slot);
      if (v !== undefined) return this.send(from, { t: MsgType.Decide, slot, value: v });
    }
    if (this.grantor !== null && this.grantor.blocks(from, now)) {
      const promised = Math.max(this.acceptor.promisedIn(slot), ballot);
      return this.send(from, { t: MsgType.Nack, slot, ballot, promised });
    }
    // An open promise covers only the slots whose votes we still hold: it says so in its slot field,
    // so a leader never takes the silence about a forgotten slot for "no vote there".
    const covered = open ? Math.max(slot, this.learner.forgottenBelow) : slot;
    const r = this.acceptor.prepare(covered, ballot, open);
    if (!r.ok) return this.send(from, { t: MsgType.Nack, slot, ballot, promised: r.promised });
    if (!this.bugs.skipPersistPromise) this.persist(r.record);
    this.send(from, { t: MsgType.Promise, slot: covered, ballot, open, votes: r.votes });
  }

  private onAccept(from: NodeId, slot: Slot, ballot: Ballot, value: Value): void {
    if (slot < this.learner.forgottenBelow) return void this.stats.staleMessages++;
    const v = this.learner.get(slot);
    if (v !== undefined) return this.send(from, { t: MsgType.Decide, slot, value: v });
    const r = this.acceptor.accept(slot, ballot, value);
    if (!r.ok) return this.send(from, { t: MsgType.Nack, slot, ballot, promised: r.promised });
    this.persist(r.record);
    this.send(from, { t: MsgType.Accepted, slot, ballot });
  }

  private onPromise(from: NodeId, slot: Slot, ballot: Ballot, votes: Vote[], now: number): void {
    const inst = this.instances.get(slot);
    // Only promises for this attempt's own ballot count.
    if (inst === undefined || inst.phase !== enumPhase.Prepare || inst.ballot !== ballot) {
      return void this.stats.staleMessages++;
    }
    for (const v of votes) {
      if (v.slot === slot && (inst.best === null || v.ballot > inst.best.ballot)) inst.best = v;
    }
    if (!inst.promises.add(from)) return;
    // Phase 2 proposes the value of the highest vote reported, or our own if there is none.
    const adopt = inst.best !== null && !this.bugs.proposeArbitraryValue;
    inst.value = adopt && inst.best !== null ? inst.best.value : (inst.own ?? NOOP);
    inst.phase = enumPhase.Accept;
    this.timers.set(slot, now + this.attemptTimeout_ms);
    this.broadcast({ t: MsgType.Accept, slot, ballot, value: inst.value });
  }

  private onOpenPromise(from: NodeId, covered: Slot, ballot: Ballot, votes: Vote[], now: number): void {
    if (this.leadState !== 'preparing' || ballot !== this.leadBallot) return void this.stats.staleMessages++;
    for (const v of votes) {
      const best = this.p1Votes.get(v.slot);
      if (best === undefined || v.ballot > best.ballot) this.p1Votes.set(v.slot, v);
    }
    if (covered > this.p1Covered) this.p1Covered = covered;
    if (!this.p1Promises.add(from)) return;
    this.leadState = 'leading';
    this.leadFailures = 0;
    this.stats.leaderChanges++;
    // Below `start` some promiser may have forgotten its votes: we must not propose there
    // (those slots are decided; we lack them until state transfer, which synod does not have yet).
    const start = Math.max(this.p1From, this.p1Covered);
    this.commitFrom = this.commitTo = this.advertisedTo = start;
    this.quorumDecided.clear();
    this.timers.delete(T_LEAD);
    // Re-propose every voted value in its slot, and fill the holes below the highest with no-ops.
    let top = start - 1;
    for (const s of this.p1Votes.keys()) if (s > top) top = s;
    for (let s = start; s <= top; s++) {
      if (this.learner.has(s) || this.instances.has(s)) continue;
      const vote = this.p1Votes.get(s);
      const value = vote === undefined || this.bugs.proposeArbitraryValue ? NOOP : vote.value;
      // A value we still owe a client rides in its old slot; if that slot goes to another value, it is requeued.
      const owed = value !== NOOP && this.pending.delete(value);
      this.startPhase2(s, owed ? value : null, value, now);
    }
    this.p1Votes.clear();
    this.nextSlot = Math.max(top + 1, this.learner.firstUndecided);
    this.pump(now);
  }

  private onAccepted(from: NodeId, slot: Slot, ballot: Ballot, now: number): void {
    const inst = this.instances.get(slot);
    if (inst === undefined || inst.phase !== enumPhase.Accept || inst.ballot !== ballot) {
      return void this.stats.staleMessages++;
    }
    if (!inst.accepts.add(from)) return;
    if (this.leadState === 'leading' && ballot === this.leadBallot) {
      // Decided by a quorum at our leader ballot: followers learn it from the next Commit.
      if (slot >= this.commitTo) this.quorumDecided.add(slot);
    } else {
      this.broadcastOthers({ t: MsgType.Decide, slot, value: inst.value });
    }
    this.learn(slot, inst.value, now);
  }

  private onNack(slot: Slot, ballot: Ballot, now: number): void {
    this.stats.nacks++;
    if (this.omega !== null) {
      if (this.leadState !== 'idle' && ballot === this.leadBallot) this.stepDown(now, 'nack');
      return;
    }
    const inst = this.instances.get(slot);
    if (inst === undefined || inst.phase === enumPhase.Backoff || inst.ballot !== ballot) return;
    this.fail(inst, 'nack', now);
  }

  private onForward(value: Value, now: number): void {
    // Only a node that trusts itself takes a forwarded value; otherwise the sender re-routes it on timeout.
    if (this.omega === null || this.omega.leader(now) !== this.id) return void this.stats.staleMessages++;
    // A value decided meanwhile may be proposed twice: the log keeps both, applying dedupes by value.
    if (value !== NOOP) this.enqueue(value, now);
  }

  private onLearnRequest(from: NodeId, slot: Slot): void {
    const start = Math.max(slot, this.learner.forgottenBelow);
    const end = Math.min(start + LEARN_BATCH, this.learner.highestDecided + 1);
    for (let s = start; s < end; s++) {
      const v = this.learner.get(s);
      if (v !== undefined) this.send(from, { t: MsgType.Decide, slot: s, value: v });
    }
  }

  // ---- proposer --------------------------------------------------------------

  /** Moves pending values into slots while the window allows. */
  private pump(now: number): void {
    if (this.omega === null) {
      while (this.pending.size > 0 && this.instances.size < this.policy.window) {
        const value = this.takePending();
        this.startInstance(this.nextFreeSlot(this.learner.firstUndecided), value, now);
      }
      return;
    }
    if (this.leadState === 'leading') {
      while (this.pending.size > 0 && this.instances.size < this.policy.window) {
        const value = this.takePending();
        const slot = this.nextFreeSlot(this.nextSlot);
        this.nextSlot = slot + 1;
        this.startPhase2(slot, value, value, now);
      }
      return;
    }
    const leader = this.omega.leader(now);
    if (leader === this.id) return; // we will lead: keep the values until phase 1 completes
    for (const value of this.pending.keys()) {
      this.pending.delete(value);
      this.forwarded.set(value, now + this.attemptTimeout_ms * 4);
      this.stats.forwarded++;
      this.send(leader, { t: MsgType.Forward, value });
    }
    if (!this.timers.has(T_FORWARD)) this.timers.set(T_FORWARD, now + this.attemptTimeout_ms * 4);
  }

  private takePending(): Value {
    const it = this.pending.keys().next();
    if (it.done === true) throw new Error('takePending on an empty queue');
    this.pending.delete(it.value);
    return it.value;
  }

  private nextFreeSlot(from: Slot): Slot {
    let s = Math.max(from, this.learner.firstUndecided);
    while (this.learner.has(s) || this.instances.has(s)) s++;
    return s;
  }

  private newInstance(slot: Slot, own: Value | null, value: Value): Instance {
    return {
      slot, own, value, ballot: NO_BALLOT, phase: enumPhase.Backoff, ballots: 0, failures: 0,
      promises: new QuorumCounter(this.quorum), best: null, accepts: new QuorumCounter(this.quorum),
    };
  }

  private startInstance(slot: Slot, own: Value, now: number): void {
    const inst = this.newInstance(slot, own, own);
    this.instances.set(slot, inst);
    this.startAttempt(inst, now);
  }

  /** Per-slot mode: a new ballot, phase 1. */
  private startAttempt(inst: Instance, now: number): void {
    inst.ballot = this.newBallot();
    inst.ballots++;
    if (inst.ballots > 1) this.stats.phase1Retries++;
    inst.phase = enumPhase.Prepare;
    inst.promises.reset();
    inst.accepts.reset();
    inst.best = null;
    this.timers.set(inst.slot, now + this.attemptTimeout_ms);
    this.broadcast({ t: MsgType.Prepare, slot: inst.slot, ballot: inst.ballot, open: false });
  }

  /** Stable-leader mode: phase 2 only, under the leader's ballot. */
  private startPhase2(slot: Slot, own: Value | null, value: Value, now: number): void {
    const inst = this.newInstance(slot, own, value);
    inst.ballot = this.leadBallot;
    inst.ballots = 1;
    inst.phase = enumPhase.Accept;
    this.instances.set(slot, inst);
    this.timers.set(slot, now + this.attemptTimeout_ms);
    this.broadcast({ t: MsgType.Accept, slot, ballot: inst.ballot, value });
  }

  /** The first failure of an attempt: abandon its ballot and ask the policy when to retry. */
  private fail(inst: Instance, reason: FailureReason, now: number): void {
    if (reason === 'timeout') this.stats.timeouts++;
    inst.phase = enumPhase.Backoff;
    inst.failures++;
    const action = this.policy.onFailure(
      { reason, slot: inst.slot, attempt: inst.failures, seen: this.highestSeen },
      { now_ms: now, random: this.random },
    );
    const delay = action.kind === 'retry' ? action.delay_ms : this.attemptTimeout_ms;
    if (delay <= 0) this.startAttempt(inst, now);
    else this.timers.set(inst.slot, now + delay);
  }

  /** A ballot of ours above every ballot seen; its round is persisted before any message carries it. */
  private newBallot(): Ballot {
    const floor = this.round > 0 ? Math.max(this.highestSeen, makeBallot(this.round, this.id)) : this.highestSeen;
    const b = nextBallot(this.id, floor);
    this.round = roundOf(b);
    this.stats.ballotsStarted++;
    if (!this.bugs.reuseBallotAfterRestart) this.persist({ k: 'round', round: this.round });
    return b;
  }

  // ---- stable leader -----------------------------------------------------------

  private startLeading(now: number): void {
    this.leadBallot = this.newBallot();
    this.leadState = 'preparing';
    this.p1From = this.learner.firstUndecided;
    this.p1Covered = this.p1From;
    this.p1Promises.reset();
    this.p1Votes.clear();
    this.timers.set(T_LEAD, now + this.attemptTimeout_ms);
    if (this.holder !== null) this.requestLease(now);
    this.broadcast({ t: MsgType.Prepare, slot: this.p1From, ballot: this.leadBallot, open: true });
  }

  /** Pre-empted (or no longer trusted): drop the ballot; our values go back to the queue. */
  private stepDown(now: number, reason: FailureReason | 'demoted'): void {
    // Tell followers what was decided under the old ballot before the range is dropped.
    if (this.leadState === 'leading') this.advanceCommit(false);
    this.leadState = 'idle';
    this.quorumDecided.clear();
    this.holder?.drop();
    for (const inst of this.instances.values()) {
      this.timers.delete(inst.slot);
      if (inst.own !== null) this.pending.set(inst.own, true);
    }
    this.instances.clear();
    this.timers.delete(T_LEASE);
    if (reason === 'demoted') {
      this.timers.delete(T_LEAD);
      this.pump(now);
      return;
    }
    if (reason === 'timeout') this.stats.timeouts++;
    this.leadFailures++;
    const action = this.policy.onFailure(
      { reason, slot: this.p1From, attempt: this.leadFailures, seen: this.highestSeen },
      { now_ms: now, random: this.random },
    );
    const delay = action.kind === 'retry' ? action.delay_ms : this.attemptTimeout_ms;
    this.timers.set(T_LEAD, now + delay);
  }

  private requestLease(now: number): void {
    if (this.holder === null || this.policy.lease === null) return;
    const seq = this.holder.request(now);
    this.broadcast({ t: MsgType.LeaseRequest, ballot: this.leadBallot, seq });
    this.timers.set(T_LEASE, now + this.policy.lease.lease_ms / 4);
  }

  // ---- timers ------------------------------------------------------------------

  private fire(key: number, now: number): void {
    if (key >= 0) return this.fireInstance(key, now);
    switch (key) {
      case T_HEARTBEAT:
        return this.onHeartbeatTimer(now);
      case T_SYNC: {
        // Anti-entropy: ask one peer, round robin, for decisions from our first gap.
        if (this.nodes > 1) {
          this.syncPeer = (this.syncPeer + 1) % this.nodes;
          if (this.syncPeer === this.id) this.syncPeer = (this.syncPeer + 1) % this.nodes;
          this.requestLearn(this.syncPeer, now);
        }
        if (this.omega === null) this.fillHoles(now);
        this.timers.set(T_SYNC, now + this.sync_ms);
        return;
      }
      case T_LEAD:
        if (this.leadState === 'preparing') return this.stepDown(now, 'timeout');
        if (this.leadState === 'idle' && this.omega !== null && this.omega.leader(now) === this.id) this.startLeading(now);
        return;
      case T_LEASE:
        if (this.leadState !== 'idle') this.requestLease(now);
        return;
      case T_FORWARD: {
        let next = Number.POSITIVE_INFINITY;
        for (const [value, at] of this.forwarded) {
          if (at <= now) {
            this.forwarded.delete(value);
            this.pending.set(value, true);
          } else if (at < next) next = at;
        }
        if (next !== Number.POSITIVE_INFINITY) this.timers.set(T_FORWARD, next);
        this.pump(now);
        return;
      }
    }
  }

  private fireInstance(slot: Slot, now: number): void {
    const inst = this.instances.get(slot);
    if (inst === undefined) return;
    if (inst.phase === enumPhase.Backoff) return this.startAttempt(inst, now);
    if (this.omega === null) return this.fail(inst, 'timeout', now);
    // Stable leader: resend phase 2 under the same ballot (messages may have been lost).
    this.timers.set(slot, now + this.attemptTimeout_ms);
    this.broadcast({ t: MsgType.Accept, slot, ballot: inst.ballot, value: inst.value });
  }

  private onHeartbeatTimer(now: number): void {
    const omega = this.omega;
    if (omega === null || this.policy.election === null) return;
    this.timers.set(T_HEARTBEAT, now + this.policy.election.heartbeat_ms);
    const ballot = this.leadState === 'leading' ? this.leadBallot : NO_BALLOT;
    this.broadcastOthers({ t: MsgType.Heartbeat, ballot, decidedUpTo: this.learner.firstUndecided });
    if (this.leadState === 'leading') this.advanceCommit(true);
    if (this.holder !== null) {
      const valid = this.leaseValid(now);
      if (this.leaseWasValid && !valid) this.stats.leaseExpiries++;
      this.leaseWasValid = valid;
    }
    const leader = omega.leader(now);
    if (leader === this.id) {
      if (this.leadState === 'idle' && !this.timers.has(T_LEAD)) this.startLeading(now);
    } else {
      if (this.leadState !== 'idle') this.stepDown(now, 'demoted');
      else if (this.pending.size > 0) this.pump(now);
    }
  }

  // ---- learner -----------------------------------------------------------------

  private learn(slot: Slot, value: Value, now: number): void {
    const known = this.learner.get(slot);
    if (known !== undefined) {
      if (known !== value) this.stats.conflictingDecides++;
      return;
    }
    if (!this.learner.learn(slot, value)) return void this.stats.staleMessages++;
    this.stats.decisions++;
    this.acceptor.forgetBelow(this.learner.forgottenBelow);
    let ballots = 0;
    const inst = this.instances.get(slot);
    if (inst !== undefined) {
      this.instances.delete(slot);
      this.timers.delete(slot);
      if (inst.own === value) {
        ballots = inst.ballots;
        this.policy.onDecided();
      } else if (inst.own !== null) {
        // Another value won this slot: ours goes back to the queue for a later slot.
        this.pending.set(inst.own, true);
      }
    }
    if (value !== NOOP) {
      this.pending.delete(value);
      this.forwarded.delete(value);
    }
    this.ready.decisions.push({ slot, value, ballots });
    this.pump(now);
  }

  /**
   * Per-slot mode: a slot below the highest one known to be decided (or, after
   * a restart, voted in by our own acceptor: learners are not persisted) that
   * nobody has taught us may have been chosen with no proposer left on it, and
   * then every learner stalls behind it for ever. After the grace period we
   * run Paxos on it with no value of our own: phase 1 yields the safe value
   * (the highest vote a quorum reports), and only if there is none a no-op.
   * (Stable-leader mode needs none of this: a new leader's open phase 1
   * re-proposes every voted slot from its first undecided one.)
   */
  private fillHoles(now: number): void {
    const first = this.learner.firstUndecided;
    const top = Math.max(this.learner.highestDecided, this.acceptor.highestVotedSlot);
    if (top < first) {
      this.holeSlot = -1;
      return;
    }
    if (this.holeSlot !== first) {
      this.holeSlot = first;
      this.holeSince_ms = now;
      return;
    }
    if (now - this.holeSince_ms < this.holeGrace_ms * (1 + this.id)) return;
    let fillers = 0;
    for (const inst of this.instances.values()) if (inst.own === null) fillers++;
    for (let s = first; s <= top && fillers < this.policy.window; s++) {
      if (this.learner.has(s) || this.instances.has(s)) continue;
      const inst = this.newInstance(s, null, NOOP);
      this.instances.set(s, inst);
      this.stats.holesFilled++;
      fillers++;
      this.startAttempt(inst, now);
    }
  }

  private requestLearn(to: NodeId, now: number): void {
    // At most one request per sync period, so heartbeats from a far-ahead leader do not flood it.
    if (now - this.lastLearnRequest_ms < this.sync_ms / 2) return;
    this.lastLearnRequest_ms = now;
    this.send(to, { t: MsgType.LearnRequest, slot: this.learner.firstUndecided });
  }

  // ---- effects -------------------------------------------------------------------

  private persist(r: PersistRecord): void {
    this.ready.persist.push(r);
  }

  private send(to: NodeId, msg: Message): void {
    this.ready.messages.push({ to, msg });
    if (to === this.id) {
      this.loopback.push(msg);
      return;
    }
    this.stats.messagesOut++;
  }

  private broadcast(msg: Message): void {
    for (let to = 0; to < this.nodes; to++) this.send(to, msg);
  }

  private broadcastOthers(msg: Message): void {
    for (let to = 0; to < this.nodes; to++) if (to !== this.id) this.send(to, msg);
  }

  /** Messages to ourselves are handled in the same step, after the input that caused them. */
  private drainLoopback(now: number): void {
    // Bounded: each loopback message is a reply or a phase step, which cannot recurse without new input.
    for (let i = 0; i < this.loopback.length; i++) {
      const m = this.loopback[i];
      if (m !== undefined) this.handle(this.id, m, now);
      if (i > 1_000_000) throw new Error('loopback did not settle');
    }
    this.loopback.length = 0;
  }

  /** Stable-leader state (leader and lease policies; for the model checker's "sometimes" properties). */
  get leadership(): 'idle' | 'preparing' | 'leading' {
    return this.leadState;
  }

  /** The proposer's attempt in `slot`, if any: its ballot and phase (for the model checker's "sometimes" properties). */
  attemptIn(slot: Slot): { ballot: Ballot; ballots: number; phase: 'backoff' | 'prepare' | 'accept' } | null {
    const inst = this.instances.get(slot);
    if (inst === undefined) return null;
    const phase = inst.phase === enumPhase.Backoff ? 'backoff' : inst.phase === enumPhase.Prepare ? 'prepare' : 'accept';
    return { ballot: inst.ballot, ballots: inst.ballots, phase };
  }

  /**
   * When the last learn request went out, as `requestLearn` can tell: it only
   * asks whether it was less than sync_ms / 2 ago, and that age only grows, so
   * older requests are written alike (the state space stays finite).
   */
  private learnRequestAge(now_ms: number): string {
    if (this.lastLearnRequest_ms === Number.NEGATIVE_INFINITY) return 'never';
    const horizon = this.sync_ms / 2;
    if (!Number.isFinite(horizon)) return 'recent'; // never old enough to repeat
    return String(Math.max(this.lastLearnRequest_ms - now_ms, -horizon));
  }

  /** How long the watched hole has been open, as `fillHoles` can tell: ages past the longest grace are alike. */
  private holeAge(now_ms: number): string {
    if (this.holeSlot < 0) return '-';
    const horizon = this.holeGrace_ms * (1 + this.id);
    if (!Number.isFinite(horizon)) return 'young';
    return String(Math.max(this.holeSince_ms - now_ms, -horizon));
  }

  /**
   * Model checking: a canonical text of every field that can affect future
   * behaviour (stats and the config are left out). Times are written relative
   * to `now_ms`, because the core only ever compares times, so two states that
   * differ by a shift of the clock behave alike. Maps whose order is read
   * (pending, instances, timers, forwarded) keep insertion order; the others are sorted.
   */
  fingerprint(now_ms: number): string {
    const rel = (t: number): string => String(t - now_ms);
    const inst = [...this.instances.values()].map((i) =>
      [i.slot, JSON.stringify(i.own), JSON.stringify(i.value), i.ballot, i.phase, i.ballots, i.failures,
        i.promises.fingerprint(), i.best === null ? '-' : `${i.best.slot}:${i.best.ballot}:${JSON.stringify(i.best.value)}`,
        i.accepts.fingerprint()].join('/'),
    );
    const p1Votes = [...this.p1Votes.values()].sort((a, b) => a.slot - b.slot).map((v) => `${v.slot}:${v.ballot}:${JSON.stringify(v.value)}`);
    return [
      this.acceptor.fingerprint(),
      this.learner.fingerprint(),
      this.round,
      this.highestSeen,
      JSON.stringify([...this.pending.keys()]),
      inst.join(';'),
      [...this.timers].map(([k, at]) => `${k}@${rel(at)}`).join(','),
      this.omega === null ? '-' : this.omega.fingerprint(now_ms),
      this.leadState, this.leadBallot, this.leadFailures, this.p1From, this.p1Covered, this.p1Promises.fingerprint(), p1Votes.join(','), this.nextSlot,
      `${this.commitFrom}-${this.commitTo}-${this.advertisedTo}:${[...this.quorumDecided].sort((a, b) => a - b).join(',')}`,
      JSON.stringify([...this.forwarded].map(([v, at]) => [v, at - now_ms])),
      this.learnRequestAge(now_ms),
      this.syncPeer,
      this.holeSlot, this.holeAge(now_ms),
      this.grantor === null ? '-' : this.grantor.fingerprint(now_ms),
      this.holder === null ? '-' : this.holder.fingerprint(now_ms),
      this.leaseWasValid,
      this.loopback.length,
    ].join('#');
  }
}
