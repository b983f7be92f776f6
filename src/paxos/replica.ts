/**
 * One replica as a pure state machine: acceptor, learner and a proposer role
 * (per-slot Paxos, or a stable leader), composed. Inputs: `propose`,
 * `receive`, `tick`, each with the node's clock reading; `endTurn` closes a
 * driver turn. Outputs accumulate in a Ready that the driver takes and applies
 * with `applyReady` (persist, then send, then publish). No clock, randomness
 * or I/O in here: time is an argument and randomness comes from `random`.
 *
 * This file routes: acceptor messages (Prepare, Accept) are answered here,
 * learner messages (Decide, Commit, LearnRequest) too, and proposer messages
 * go to the role. Messages to ourselves are handled in the same step.
 */
import { MAX_NODES, type Ballot, type NodeId } from './ballot.js';
import { isBatch } from './batch.js';
import { CatchUp, type HeldSnapshot } from './catch-up.js';
import { MAX_CHUNK_CHARS } from './codec.js';
import { StableLeader } from './leader.js';
import { MsgType, type Message, type Slot, type Value, type Vote } from './messages.js';
import { Node, type PlantedBugs, type ReplicaStats } from './node.js';
import type { ContentionPolicy } from './policy.js';
import { PerSlotProposer } from './proposer.js';
import { majority } from './quorum.js';
import type { Ready } from './ready.js';
import type { ProposerRole } from './role.js';
import type { PersistRecord } from './storage-records.js';

export type { PlantedBugs, ReplicaStats } from './node.js';
export type { HeldSnapshot } from './catch-up.js';
export type { Decision, Outgoing, Ready, ReadConfirmation } from './ready.js';

/** A promise "for every slot" (see onReadIndex). */
const EVERY_SLOT = Number.MAX_SAFE_INTEGER;

export interface ReplicaConfig {
  id: NodeId;
  /** Nodes in the cluster (ids 0 .. nodes - 1). */
  nodes: number;
  /** Nodes 0 .. acceptors - 1 vote (default: all); the others propose and learn only. */
  acceptors?: number;
  policy: ContentionPolicy;
  /** Uniform in [0, 1): the injected random source. */
  random: () => number;
  /** An attempt without a quorum for this long has failed (per-slot mode) or is resent (leader phase 2). */
  attemptTimeout_ms?: number;
  /** Every this often a replica asks a peer for decisions it may have missed (and looks for holes to fill). */
  sync_ms?: number;
  /**
   * Per-slot mode: a hole (an undecided slot below one known decided or voted)
   * that peers have not filled for this long, times (1 + id), gets filled by
   * this replica. Staggered by id, so the lowest live id fills first. Default 2 * sync_ms.
   */
  holeGrace_ms?: number;
  /** Bound on proposals queued at this replica (pending + forwarded). */
  maxPending?: number;
  /** Decided slots kept in memory below the first undecided one. */
  retainDecided?: number;
  /**
   * Of those, at most this many characters of values (one-byte strings: bytes);
   * past it the oldest are forgotten down to half of it, never slots from the
   * latest snapshot on. Default 32 Mi: 10,000 batches of 512 small commands
   * held 80-160 MB per replica, and of 1 MiB values would hold 10 GiB.
   */
  retainDecided_chars?: number;
  /**
   * Stable leader: commands packed into one slot (default 1: none). With more,
   * the leader starts new slots at the end of a driver turn, so the commands
   * of one turn share slots.
   */
  batchMax?: number;
  /** Stable leader: how long a partial batch may wait to fill (default 0: send what the turn gathered). */
  batchDelay_ms?: number;
  /**
   * The driver takes snapshots of what it applied and reports each durable one
   * (`snapshotTaken`), and installs those peers send (the Ready's `install`).
   * Then the learner keeps every slot from the latest snapshot on, whatever
   * `retainDecided` says, so a peer that falls behind the forgotten mark
   * catches up from the snapshot and the slots after it. Default false: slots
   * past `retainDecided` are forgotten, and a replica that far behind stays behind.
   */
  snapshots?: boolean;
  /** Characters (bytes) per snapshot chunk sent to a peer (default 256 KiB, at most 1 MiB). */
  snapshotChunk_chars?: number;
  bugs?: PlantedBugs;
}

/** A batch stays well inside the codec's value limit (MAX_VALUE_BYTES, 1 MiB). */
export const MAX_BATCH = 65_536;

/** The one table of the core's defaults (the cluster, the host and the tools read them from here). */
export const REPLICA_DEFAULTS = Object.freeze({
  attemptTimeout_ms: 50,
  sync_ms: 100,
  maxPending: 4096,
  retainDecided: 10_000,
  retainDecided_chars: 32 * 1024 * 1024,
  batchMax: 1,
  batchDelay_ms: 0,
  snapshotChunk_chars: 256 * 1024,
});

/**
 * Decides sent for one LearnRequest, at most. Requests go out at most one per
 * sync_ms / 2, so a replica far behind (a restart, a healed partition, the
 * tail after a snapshot it installed) replays this many slots per request:
 * 64 a time took about 80 s for 100,000 slots. Bounded: one request's answer.
 */
const LEARN_BATCH = 4096;
/** Slots one Commit may make a replica scan (bounds the work per message). */
const COMMIT_SCAN_MAX = 4096;

/** The replica's own state outside the roles: anti-entropy. */
export interface SyncState {
  syncAt: number;
  lastLearnRequest_ms: number;
  syncPeer: NodeId;
  /**
   * Our first undecided slot when the last heartbeat said the leader had
   * decided past it (-1: not behind). A follower is nearly always a few slots
   * behind a busy leader (Commit ranges arrive at the end of its turns), and
   * asking for Decides then only re-sends values it already holds as votes:
   * it asks only when a whole heartbeat period brought no progress.
   */
  behindAt: Slot;
}

export class Replica {
  /** Shared by the roles; read by src/paxos/introspect.ts (the model checker) and tests. */
  readonly node: Node;
  readonly role: ProposerRole;
  /** The role when it is a stable leader (reads need one), else null. */
  readonly leader: StableLeader | null;
  readonly sync: SyncState;
  readonly catchUp: CatchUp;

  private constructor(cfg: ReplicaConfig, now_ms: number) {
    const acceptors = cfg.acceptors ?? cfg.nodes;
    if (!Number.isInteger(cfg.nodes) || cfg.nodes < 1 || cfg.nodes > MAX_NODES) {
      throw new RangeError(`nodes must be an integer in 1..${MAX_NODES}, got ${cfg.nodes}`);
    }
    if (!Number.isInteger(acceptors) || acceptors < 1 || acceptors > cfg.nodes) {
      throw new RangeError(`acceptors must be an integer in 1..${cfg.nodes}, got ${acceptors}`);
    }
    if (!Number.isInteger(cfg.id) || cfg.id < 0 || cfg.id >= cfg.nodes) {
      throw new RangeError(`id must be an integer in 0..${cfg.nodes - 1}, got ${cfg.id}`);
    }
    const bugs = cfg.bugs ?? {};
    const batchMax = cfg.batchMax ?? REPLICA_DEFAULTS.batchMax;
    if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > MAX_BATCH) throw new RangeError(`batchMax must be an integer in 1..${MAX_BATCH}, got ${batchMax}`);
    const batchDelay = cfg.batchDelay_ms ?? REPLICA_DEFAULTS.batchDelay_ms;
    if (!Number.isFinite(batchDelay) || batchDelay < 0 || batchDelay > 10_000) throw new RangeError(`batchDelay_ms must be in 0..10000, got ${batchDelay}`);
    const sync_ms = cfg.sync_ms ?? REPLICA_DEFAULTS.sync_ms;
    const chunk = cfg.snapshotChunk_chars ?? REPLICA_DEFAULTS.snapshotChunk_chars;
    if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK_CHARS) throw new RangeError(`snapshotChunk_chars must be an integer in 1..${MAX_CHUNK_CHARS}, got ${chunk}`);
    const retainChars = cfg.retainDecided_chars ?? REPLICA_DEFAULTS.retainDecided_chars;
    if (!(Number.isInteger(retainChars) && retainChars >= 1) && retainChars !== Number.POSITIVE_INFINITY) throw new RangeError(`retainDecided_chars must be a positive integer or Infinity, got ${retainChars}`);
    this.node = new Node(
      {
        id: cfg.id, nodes: cfg.nodes, acceptors, quorum: majority(acceptors) - (bugs.quorumOneTooSmall ? 1 : 0),
        attemptTimeout_ms: cfg.attemptTimeout_ms ?? REPLICA_DEFAULTS.attemptTimeout_ms, sync_ms, holeGrace_ms: cfg.holeGrace_ms ?? 2 * sync_ms,
        maxPending: cfg.maxPending ?? REPLICA_DEFAULTS.maxPending, batchMax, batchDelay_ms: batchDelay,
        snapshots: cfg.snapshots ?? false, snapshotChunk_chars: chunk, bugs,
      },
      cfg.policy, cfg.random, cfg.retainDecided ?? REPLICA_DEFAULTS.retainDecided,
      retainChars,
    );
    const election = cfg.policy.election;
    this.leader = election === null ? null : new StableLeader(this.node, election, now_ms);
    this.role = this.leader ?? new PerSlotProposer(this.node);
    this.node.role = this.role;
    this.catchUp = new CatchUp(this.node);
    // An infinite period (anti-entropy off) arms nothing: the timer could never fire.
    const syncAt = Number.isFinite(sync_ms) ? now_ms + sync_ms * (0.5 + cfg.random()) : Number.POSITIVE_INFINITY;
    this.sync = { syncAt, lastLearnRequest_ms: Number.NEGATIVE_INFINITY, syncPeer: 0, behindAt: -1 };
  }

  /**
   * A fresh replica, or one restarted on its persisted records and its latest
   * durable snapshot (volatile state is lost, durable state kept). With a
   * snapshot at S, the learner starts at S (every slot below is decided, in
   * the snapshot) and the acceptor refuses every slot below S. Records that
   * say slots were forgotten past the snapshot (a mark above S) are refused:
   * those decisions would be lost.
   */
  static start(cfg: ReplicaConfig, now_ms: number, records: Iterable<PersistRecord> = [], snapshot: HeldSnapshot | null = null): Replica {
    const r = new Replica(cfg, now_ms);
    const { acceptor, learner, ballots } = r.node;
    let mark = 0;
    for (const rec of records) {
      if (rec.k === 'round') ballots.round = Math.max(ballots.round, rec.round);
      else if (acceptor !== null) acceptor.apply(rec);
      else throw new Error(`replica ${cfg.id} is not an acceptor but its records hold a '${rec.k}' record`);
      if (rec.k === 'mark' && rec.below > mark) mark = rec.below;
    }
    const index = snapshot?.index ?? 0;
    if (mark > index) {
      throw new Error(`replica ${cfg.id}: its log forgot every slot below ${mark}, but its latest snapshot ${snapshot === null ? 'is missing' : `is at ${index}`}: the decisions in between would be lost`);
    }
    if (snapshot !== null) {
      learner.install(index);
      acceptor?.forgetBelow(index);
      r.catchUp.hold(snapshot);
    }
    return r;
  }

  get id(): NodeId {
    return this.node.id;
  }
  get nodes(): number {
    return this.node.cfg.nodes;
  }
  get stats(): ReplicaStats {
    return this.node.stats;
  }

  // ---- inputs ------------------------------------------------------------

  /** Queues a client value. Returns false (and changes nothing) when the pending queue is full. */
  propose(value: Value, now_ms: number): boolean {
    if (value === '') throw new RangeError('the empty string is reserved for no-ops');
    if (!this.role.propose(value, now_ms)) return false;
    this.node.stats.proposals++;
    this.drainLoopback(now_ms);
    return true;
  }

  receive(from: NodeId, msg: Message, now_ms: number): void {
    this.node.stats.messagesIn++;
    this.handle(from, msg, now_ms);
    this.drainLoopback(now_ms);
  }

  /** Fires every timer due at `now_ms`. */
  tick(now_ms: number): void {
    if (this.sync.syncAt <= now_ms) this.onSyncTimer(now_ms);
    this.role.tick(now_ms);
    this.catchUp.tick(now_ms);
    this.drainLoopback(now_ms);
  }

  /** The earliest timer deadline on this node's clock, or Infinity. */
  nextDeadline(): number {
    return Math.min(this.sync.syncAt, this.role.nextDeadline(), this.catchUp.nextDeadline());
  }

  /**
   * The driver made a snapshot of everything applied below `s.index` durable:
   * the acceptor forgets them at once, the learner once retainDecided allows,
   * and the snapshot is served to peers that fall behind. The driver may then
   * compact its log with `durableState`.
   */
  snapshotTaken(s: HeldSnapshot): void {
    const { learner, acceptor } = this.node;
    if (s.index > learner.firstUndecided) throw new RangeError(`a snapshot at ${s.index} is past the first undecided slot ${learner.firstUndecided}`);
    this.catchUp.hold(s);
    learner.snapshotted(s.index);
    // The acceptor forgets up to the snapshot, below what the learner still keeps: a prepare or an accept for
    // a slot in between is answered with a Decide from the learner, and an open promise covers only from here.
    acceptor?.forgetBelow(s.index);
  }

  /**
   * The driver restored the snapshot of the Ready's `install` and made it
   * durable: every slot below its index is decided and applied there. The
   * learner moves to it, the acceptor forgets below it (and persists that it
   * did), the role gives up what it had below it. `holds` says which values
   * (client commands) the snapshot holds, so the proposer stops owing them
   * (the driver's applier knows them by request id; without it they are
   * proposed again, and the copy is a duplicate).
   */
  snapshotInstalled(s: HeldSnapshot, now_ms: number, holds: (value: Value) => boolean = () => false): void {
    const node = this.node;
    if (s.index <= node.learner.forgottenBelow) return;
    node.learner.install(s.index);
    if (node.acceptor !== null) {
      node.acceptor.forgetBelow(s.index);
      node.persist({ k: 'mark', below: s.index });
    }
    this.catchUp.hold(s);
    node.stats.snapshotsInstalled++;
    this.role.installed(s.index, now_ms, holds);
    this.drainLoopback(now_ms);
  }

  /** The driver will not install the snapshot at `index` (it did not restore, or was not needed): nothing changes. */
  snapshotRefused(index: Slot): void {
    this.catchUp.refuse(index);
  }

  /**
   * What a compacted log must hold to rebuild this replica's durable state:
   * its ballot round, and its acceptor's mark, floor, promises and votes at
   * and above the mark. Call between turns (when every record emitted so far
   * has been persisted).
   */
  durableState(): PersistRecord[] {
    const out: PersistRecord[] = [];
    if (this.node.ballots.round > 0) out.push({ k: 'round', round: this.node.ballots.round });
    if (this.node.acceptor !== null) out.push(...this.node.acceptor.durableRecords());
    return out;
  }

  /** The end of a driver turn: effects the role batches per turn (a stable leader's Commit, its batches) are made now. */
  endTurn(now_ms: number): void {
    // Our own accept of a new batch is handled here; in a one-node cluster it decides the slot and frees the
    // window for the next batch, so repeat (bounded) until the turn's end makes no message to ourselves.
    for (let round = 0; round < 64; round++) {
      this.role.endTurn(now_ms);
      if (this.node.loopback.length === 0) return;
      this.drainLoopback(now_ms);
    }
  }

  /** Hands the effects accumulated since the last call to the driver, to apply with `applyReady`. */
  takeReady(): Ready {
    return this.node.effects.take();
  }

  // ---- reads (drivers, the simulator's invariants, tests) ------------------

  promisedIn(slot: Slot): Ballot {
    return this.node.acceptor?.promisedIn(slot) ?? 0;
  }
  voteIn(slot: Slot): Vote | null {
    return this.node.acceptor?.vote(slot) ?? null;
  }
  decided(slot: Slot): Value | undefined {
    return this.node.learner.get(slot);
  }
  get firstUndecided(): Slot {
    return this.node.learner.firstUndecided;
  }
  /** Slots below this are decided and forgotten (in a snapshot): refused as an acceptor, unknown as a learner. */
  get forgottenBelow(): Slot {
    return Math.max(this.node.learner.forgottenBelow, this.node.acceptor?.forgottenBelow ?? 0);
  }
  get highestDecided(): Slot {
    return this.node.learner.highestDecided;
  }
  /** Proposals this node still owes an answer for (queued, in flight or forwarded). */
  get outstanding(): number {
    return this.role.outstanding;
  }
  leaseValid(now_ms: number): boolean {
    return this.role.leaseValid(now_ms);
  }

  // ---- reads (src/paxos/leader.ts explains each) ----------------------------

  /** The node this one believes leads (-1: none known, or per-slot mode): where a read is sent next. */
  leaderHint(now_ms: number): NodeId {
    return this.leader === null ? -1 : this.leader.omega.leader(now_ms);
  }

  /** A linearizable read's ticket (ReadConfirmation.seq confirms every ticket up to it), or -1: this node does not lead. */
  readTicket(): number {
    return this.leader === null ? -1 : this.leader.readTicket();
  }

  /** A lease read may be answered once the slots below the returned index are applied; -1: not by this node now. */
  leaseReadIndex(now_ms: number): Slot {
    return this.leader === null ? -1 : this.leader.leaseReadIndex(now_ms);
  }

  // ---- message routing -------------------------------------------------------

  private handle(from: NodeId, m: Message, now: number): void {
    const node = this.node;
    this.role.heard(from, now);
    switch (m.t) {
      case MsgType.Prepare:
        node.see(m.ballot);
        return this.onPrepare(from, m.slot, m.ballot, m.open, now);
      case MsgType.Accept:
        node.see(m.ballot);
        return this.onAccept(from, m.slot, m.ballot, m.value);
      case MsgType.Promise:
        node.see(m.ballot);
        return this.role.onPromise(from, m, now);
      case MsgType.Accepted:
        node.see(m.ballot);
        return this.role.onAccepted(from, m.slot, m.ballot, now);
      case MsgType.Nack:
        node.see(m.promised);
        node.stats.nacks++;
        return this.role.onNack(m, now);
      case MsgType.Decide:
        return this.node.learn(m.slot, m.value, now);
      case MsgType.Forward:
        return this.role.onForward(m.value, now);
      case MsgType.Submit:
        // A command a peer hands us to propose as our own (a batch is never a command).
        if (isBatch(m.value) || !this.role.propose(m.value, now)) return void node.stats.staleMessages++;
        node.stats.proposals++;
        return;
      case MsgType.Heartbeat:
        node.see(m.ballot);
        this.rejectStaleLeader(from, m.ballot);
        this.onHeartbeat(from, m.decidedUpTo, now);
        return this.role.onHeartbeat(from, m, now);
      case MsgType.LeaseRequest:
        return this.role.onLeaseRequest(from, m, now);
      case MsgType.LeaseGrant:
        return this.role.onLeaseGrant(from, m);
      case MsgType.LearnRequest:
        return this.onLearnRequest(from, m.slot);
      case MsgType.Commit:
        node.see(m.ballot);
        return this.onCommit(m.ballot, m.from, m.to, now);
      case MsgType.ReadIndex:
        return this.onReadIndex(from, m.ballot, m.seq);
      case MsgType.ReadAck:
        if (this.leader === null) return void node.stats.staleMessages++;
        return this.leader.onReadAck(from, m);
      case MsgType.SnapRequest:
        return this.catchUp.onRequest(from, m.index, m.offset);
      case MsgType.SnapChunk:
        return this.catchUp.onChunk(from, m, now);
    }
  }

  // ---- acceptor ------------------------------------------------------------------

  private onPrepare(from: NodeId, slot: Slot, ballot: Ballot, open: boolean, now: number): void {
    const { acceptor, learner, stats, cfg } = this.node;
    if (acceptor === null) return void stats.staleMessages++;
    if (!open) {
      const v = learner.get(slot);
      if (v !== undefined) return this.node.send(from, { t: MsgType.Decide, slot, value: v });
      // Forgotten: decided, and in a snapshot. Refused, never answered "no vote" (a hole filler would take that
      // for a free slot); the proposer catches up by snapshot, from its own LearnRequests.
      if (slot < acceptor.forgottenBelow) {
        if (!cfg.bugs.promiseForgotten) return void stats.refusedForgotten++;
        return this.node.send(from, { t: MsgType.Promise, slot, ballot, open: false, votes: [] });
      }
    }
    if (this.role.blocksPrepare(from, now)) {
      const promised = Math.max(acceptor.promisedIn(slot), ballot);
      return this.node.send(from, { t: MsgType.Nack, slot, ballot, promised });
    }
    // An open promise covers only the slots whose votes we still hold: it says so in its slot field,
    // so a leader never takes the silence about a forgotten slot for "no vote there".
    const covered = open ? Math.max(slot, acceptor.forgottenBelow) : slot;
    const r = acceptor.prepare(covered, ballot, open);
    if (r.ok === 'full') return void stats.staleMessages++; // beyond the slots this acceptor can hold: not a rejection
    if (!r.ok) return this.node.send(from, { t: MsgType.Nack, slot, ballot, promised: r.promised });
    if (!cfg.bugs.skipPersistPromise) this.node.persist(r.record);
    this.node.send(from, { t: MsgType.Promise, slot: covered, ballot, open, votes: r.votes });
  }

  private onAccept(from: NodeId, slot: Slot, ballot: Ballot, value: Value): void {
    const { acceptor, learner, stats } = this.node;
    if (acceptor === null) return void stats.staleMessages++;
    const v = learner.get(slot);
    if (v !== undefined) return this.node.send(from, { t: MsgType.Decide, slot, value: v });
    if (slot < acceptor.forgottenBelow) return void stats.refusedForgotten++;
    const r = acceptor.accept(slot, ballot, value);
    if (r.ok === 'full') return void stats.staleMessages++;
    if (!r.ok) return this.node.send(from, { t: MsgType.Nack, slot, ballot, promised: r.promised });
    this.node.persist(r.record);
    this.node.send(from, { t: MsgType.Accepted, slot, ballot });
  }

  /**
   * A read-index round: ack if this acceptor has promised nothing above
   * `ballot`. A value chosen at a higher ballot needs a phase 1 whose quorum
   * meets the acks' quorum; a member that promised before acking refuses,
   * with a Nack that makes the stale leader step down.
   */
  private onReadIndex(from: NodeId, ballot: Ballot, seq: number): void {
    const { acceptor, learner, stats } = this.node;
    if (acceptor === null) return void stats.staleMessages++;
    const promised = acceptor.promisedIn(EVERY_SLOT);
    if (promised > ballot) return this.node.send(from, { t: MsgType.Nack, slot: learner.firstUndecided, ballot, promised });
    this.node.send(from, { t: MsgType.ReadAck, ballot, seq });
  }

  // ---- learner -------------------------------------------------------------------

  /** Learn the slots of a leader's commit range in which our own vote has exactly its ballot. */
  private onCommit(ballot: Ballot, from: Slot, to: Slot, now: number): void {
    const { learner, acceptor } = this.node;
    if (acceptor === null) return;
    const start = Math.max(from, learner.firstUndecided, learner.forgottenBelow);
    const end = Math.min(to, start + COMMIT_SCAN_MAX);
    for (let s = start; s < end; s++) {
      // A vote at another ballot may be stale (another value may have been chosen): leave it to Decide/sync.
      if (!learner.has(s) && acceptor.votedBallot(s) === ballot) this.node.learn(s, acceptor.votedValue(s), now);
    }
  }

  private onLearnRequest(from: NodeId, slot: Slot): void {
    const learner = this.node.learner;
    // Slots we forgot are in our snapshot: the asker catches up from it (catch-up.ts), then asks again.
    if (slot < learner.forgottenBelow && this.catchUp.offer(from, slot)) return;
    const start = Math.max(slot, learner.forgottenBelow);
    const end = Math.min(start + LEARN_BATCH, learner.highestDecided + 1);
    for (let s = start; s < end; s++) {
      const v = learner.get(s);
      if (v !== undefined) this.node.send(from, { t: MsgType.Decide, slot: s, value: v });
    }
  }

  /**
   * A node that still leads at a ballot below our promise for all slots is a
   * stale leader (a newer leader ran phase 1 while it was cut off, and may
   * have got slots chosen that it never heard of). An idle stale leader sends
   * nothing an acceptor would reject, so it would never find out, and the
   * slots chosen behind its back would stay holes for every learner that
   * trusts it: the heartbeat is answered with a rejection of its ballot, and
   * it steps down and runs phase 1 again, which recovers them.
   */
  private rejectStaleLeader(from: NodeId, ballot: Ballot): void {
    const acceptor = this.node.acceptor;
    if (acceptor === null || ballot === 0 || from === this.id) return;
    const floor = acceptor.promisedIn(Number.MAX_SAFE_INTEGER);
    if (floor > ballot) this.node.send(from, { t: MsgType.Nack, slot: this.node.learner.firstUndecided, ballot, promised: floor });
  }

  /** Behind the sender for a whole heartbeat period, with no progress: ask it for the decisions we lack. */
  private onHeartbeat(from: NodeId, decidedUpTo: Slot, now: number): void {
    const first = this.node.learner.firstUndecided;
    if (decidedUpTo <= first) {
      this.sync.behindAt = -1;
      return;
    }
    if (this.sync.behindAt === first) this.requestLearn(from, now);
    this.sync.behindAt = first;
  }

  private requestLearn(to: NodeId, now: number): void {
    // At most one request per sync period, so heartbeats from a far-ahead leader do not flood it. None while a
    // snapshot is coming: every peer past our first undecided slot would answer with its snapshot's first chunk again.
    if (now - this.sync.lastLearnRequest_ms < this.node.cfg.sync_ms / 2 || this.catchUp.state.incoming !== null) return;
    this.sync.lastLearnRequest_ms = now;
    this.node.send(to, { t: MsgType.LearnRequest, slot: this.node.learner.firstUndecided });
  }

  /** Anti-entropy: ask one peer, round robin, for decisions from our first gap; the role looks for holes. */
  private onSyncTimer(now: number): void {
    const sync = this.sync;
    const nodes = this.node.cfg.nodes;
    if (nodes > 1) {
      sync.syncPeer = (sync.syncPeer + 1) % nodes;
      if (sync.syncPeer === this.id) sync.syncPeer = (sync.syncPeer + 1) % nodes;
      this.requestLearn(sync.syncPeer, now);
    }
    this.role.onSync(now);
    sync.syncAt = now + this.node.cfg.sync_ms;
  }

  /** Messages to ourselves are handled in the same step, after the input that caused them. */
  private drainLoopback(now: number): void {
    const loopback = this.node.loopback;
    // Bounded: each loopback message is a reply or a phase step, which cannot recurse without new input.
    for (let i = 0; i < loopback.length; i++) {
      const m = loopback[i];
      if (m !== undefined) this.handle(this.id, m, now);
      if (i > 1_000_000) throw new Error('loopback did not settle');
    }
    // Only when something was added: setting an array's length is a runtime call, and this runs per message.
    if (loopback.length !== 0) loopback.length = 0;
  }
}
