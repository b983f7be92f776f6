/**
 * The stable leader (leader and lease policies): Omega elects the smallest live
 * acceptor id; that node runs one open phase 1 for every slot from its first
 * undecided one, re-proposes what it recovers, then runs phase 2 only, with a
 * window of slots in flight. Other nodes forward their proposals to it.
 *
 * With batching (batchMax > 1) the leader packs the commands gathered in a
 * driver turn into as few slots as it can (src/paxos/batch.ts), starting
 * them at the end of the turn; everything it owes is tracked per command, so
 * a command re-batched after a leader change is still owed once.
 *
 * Roles: `idle` -> `preparing` (becomeCandidate) -> `leading` (becomeLeader)
 * -> `idle` (stepDown). Each transition asserts the role it leaves: an
 * illegal one is a bug, and throws.
 *
 * Reads (the runtime answers them; the core says when it may):
 * - linearizable: a read-index round. The leader takes a ticket for the read,
 *   then at the end of the turn records its read index (one past the highest
 *   slot it decided, and at least what its phase 1 recovered) and asks every
 *   acceptor whether it still accepts its ballot (ReadIndex / ReadAck). A
 *   quorum of acks, all sent after the read arrived, shows no other ballot had
 *   a value chosen before the read began; the read is answered once the
 *   slots below the index are applied.
 * - lease: with no message, while a lease bound to the current ballot runs,
 *   the node leads (not preparing), and it has decided everything its phase 1
 *   recovered (`leaseReadIndex`).
 */
import { NO_BALLOT, type Ballot, type NodeId } from './ballot.js';
import { Omega } from './election.js';
import { Phase, newInstance, takeDue, timerOf, type Instance } from './instance.js';
import { LeaseGrantor, LeaseHolder } from './lease.js';
import { MsgType, NOOP, type Heartbeat, type LeaseGrant, type LeaseRequest, type Nack, type PromiseMsg, type ReadAck, type Slot, type Value, type Vote } from './messages.js';
import type { Node } from './node.js';
import type { ElectionParams, FailureReason } from './policy.js';
import { QuorumCounter } from './quorum.js';
import { KeyedQueue } from './queue.js';
import { SlotMap } from './slot-map.js';
import type { ProposerRole } from './role.js';
import { commandsOf, encodeBatch } from './batch.js';
import { MAX_VALUE_BYTES } from './codec.js';

/** A promise "for every slot": asked of a slot no acceptor ever holds state for, the acceptor answers with its floor. */
const EVERY_SLOT = Number.MAX_SAFE_INTEGER;

/** A batch's encoded value stays under the codec's limit (16 bytes of framing per command is generous). */
const BATCH_BYTES_MAX = MAX_VALUE_BYTES - 64;

export type LeaderRole = 'idle' | 'preparing' | 'leading';

export interface StableLeaderState {
  role: LeaderRole;
  leadBallot: Ballot;
  /** Failed phase-1 attempts since we last led: the backoff exponent. */
  leadFailures: number;
  /** Phase 1 covers every slot from here; the highest first slot any promise covered (promisers forget decided slots). */
  p1From: Slot;
  p1Covered: Slot;
  p1Promises: QuorumCounter;
  p1Votes: Map<Slot, Vote>;
  nextSlot: Slot;
  pending: KeyedQueue<Value, true>;
  instances: SlotMap<Instance>;
  /** Values handed to the leader, with the time to re-route them if not decided by then. */
  forwarded: Map<Value, number>;
  /**
   * Commit range under leadBallot: every slot in [commitFrom, commitTo) was
   * decided here by a quorum of Accepted for leadBallot. `quorumDecided`
   * holds such slots above commitTo, waiting for the range to reach them;
   * `advertisedTo` is how far followers have been told.
   */
  commitFrom: Slot;
  commitTo: Slot;
  advertisedTo: Slot;
  quorumDecided: SlotMap<true>;
  leaseWasValid: boolean;
  /** Leading: every slot below this was recovered by phase 1 (decided, or re-proposed); reads wait until it is decided. */
  recoveredTo: Slot;
  /** Read-index rounds started (the latest's number); a read's ticket is the number of the round that will confirm it. */
  readSeq: number;
  /** The read index of the round in flight (-1: none). */
  readIndex: Slot;
  readAcks: QuorumCounter;
  /** Reads wait for the next round (rounds start at the end of a turn). */
  readWanted: boolean;
  /** When the oldest command still waiting for a batch arrived (batching with a delay). */
  batchSince: number;
  /** Named timers, on the node's clock (Infinity: not armed). */
  heartbeatAt: number;
  /** Preparing: the phase-1 timeout. Idle: when to try leading again after a failure. */
  leadAt: number;
  leaseAt: number;
  forwardAt: number;
  /** A partial batch is sent at this time if it has not filled (batchDelay_ms). */
  batchAt: number;
  /** The read-index round in flight is asked again at this time (its messages may have been lost). */
  readAt: number;
}

export class StableLeader implements ProposerRole {
  readonly mode = 'stable-leader' as const;
  readonly state: StableLeaderState;
  readonly omega: Omega;
  readonly grantor: LeaseGrantor | null;
  readonly holder: LeaseHolder | null;

  constructor(
    private readonly node: Node,
    private readonly election: ElectionParams,
    now: number,
  ) {
    const cfg = node.cfg;
    this.omega = new Omega(cfg.id, cfg.acceptors, election, node.random, now);
    const lease = node.policy.lease;
    this.grantor = lease === null || node.acceptor === null ? null : new LeaseGrantor(lease, now, cfg.bugs);
    this.holder = lease === null ? null : new LeaseHolder(lease, cfg.quorum, cfg.bugs);
    this.state = {
      role: 'idle', leadBallot: NO_BALLOT, leadFailures: 0, p1From: 0, p1Covered: 0, p1Promises: new QuorumCounter(cfg.quorum),
      p1Votes: new Map(), nextSlot: 0, pending: new KeyedQueue(), instances: new SlotMap(), forwarded: new Map(),
      commitFrom: 0, commitTo: 0, advertisedTo: 0, quorumDecided: new SlotMap(), leaseWasValid: false,
      recoveredTo: 0, readSeq: 0, readIndex: -1, readAcks: new QuorumCounter(cfg.quorum), readWanted: false, batchSince: now,
      heartbeatAt: now, leadAt: Number.POSITIVE_INFINITY, leaseAt: Number.POSITIVE_INFINITY, forwardAt: Number.POSITIVE_INFINITY,
      batchAt: Number.POSITIVE_INFINITY, readAt: Number.POSITIVE_INFINITY,
    };
  }

  // ---- client values ---------------------------------------------------------

  propose(value: Value, now: number): boolean {
    const st = this.state;
    // Sizes first: looking a new value up hashes all of it, and both are usually empty on a busy leader.
    if ((st.pending.size > 0 && st.pending.has(value)) || (st.forwarded.size > 0 && st.forwarded.has(value))) return true;
    if (st.pending.size + st.forwarded.size >= this.node.cfg.maxPending) return false;
    if (st.pending.size === 0) st.batchSince = now;
    // A leader with room in its window and nothing queued starts the slot at once, as pump would: the queue's
    // add and take per command (two Map updates, two array pushes) were most of this path's allocations.
    if (st.role === 'leading' && st.pending.size === 0 && this.node.cfg.batchMax === 1 && st.instances.size < this.node.policy.window) {
      this.startPhase2(this.takeSlot(), value, value, now);
      return true;
    }
    st.pending.set(value, true);
    this.pump(now);
    return true;
  }

  pump(now: number): void {
    const st = this.state;
    if (st.role === 'leading') {
      // Batching: slots start at the end of the turn (endTurn), when the turn's commands are all in.
      if (this.node.cfg.batchMax === 1) this.fillWindow(now);
      return;
    }
    const leader = this.omega.leader(now);
    if (leader === this.node.id || leader < 0) return; // we will lead (or know no leader yet): keep the values
    const reroute = now + this.node.cfg.attemptTimeout_ms * 4;
    while (st.pending.size > 0) {
      const value = st.pending.shiftKey();
      st.forwarded.set(value, reroute);
      this.node.stats.forwarded++;
      this.node.send(leader, { t: MsgType.Forward, value });
    }
    if (st.forwardAt === Number.POSITIVE_INFINITY) st.forwardAt = reroute;
  }

  onForward(value: Value, now: number): void {
    // Only a node that trusts itself takes a forwarded value; otherwise the sender re-routes it on timeout.
    if (this.omega.leader(now) !== this.node.id) return void this.node.stats.staleMessages++;
    // A value decided meanwhile may be proposed twice: the log keeps both, applying dedupes by value.
    if (value !== NOOP) this.propose(value, now);
  }

  /** Starts phase 2 for queued commands while the window allows, up to batchMax commands per slot. */
  private fillWindow(now: number): void {
    const st = this.state;
    const { batchMax, batchDelay_ms } = this.node.cfg;
    st.batchAt = Number.POSITIVE_INFINITY;
    while (st.pending.size > 0 && st.instances.size < this.node.policy.window) {
      if (st.pending.size < batchMax && now < st.batchSince + batchDelay_ms) {
        st.batchAt = st.batchSince + batchDelay_ms; // a partial batch waits to fill
        return;
      }
      if (batchMax === 1) {
        const value = st.pending.shiftKey();
        this.startPhase2(this.takeSlot(), value, value, now);
        continue;
      }
      const commands: Value[] = [];
      let bytes = 0;
      while (commands.length < batchMax && st.pending.size > 0) {
        const next = st.pending.peek() as Value;
        // The batch's value must stay within the codec's limit; one command alone always fits.
        if (commands.length > 0 && bytes + next.length + 16 > BATCH_BYTES_MAX) break;
        st.pending.shiftKey();
        commands.push(next);
        bytes += next.length + 16;
      }
      st.batchSince = now;
      const value = encodeBatch(commands);
      this.startPhase2(this.takeSlot(), value, value, now);
    }
  }

  /** The next slot for new phase-2 work. */
  private takeSlot(): Slot {
    const slot = this.nextFreeSlot(this.state.nextSlot);
    this.state.nextSlot = slot + 1;
    return slot;
  }

  /** Puts every command of a slot value we owe back in the queue. */
  private requeue(own: Value): void {
    for (const c of commandsOf(own) ?? [own]) this.state.pending.set(c, true);
  }

  private nextFreeSlot(from: Slot): Slot {
    const learner = this.node.learner;
    let s = Math.max(from, learner.firstUndecided);
    while (learner.has(s) || this.state.instances.has(s)) s++;
    return s;
  }

  // ---- transitions --------------------------------------------------------------

  /** idle -> preparing: a new ballot, one open phase 1 for every slot from our first undecided one. */
  private becomeCandidate(now: number): void {
    const st = this.state;
    if (st.role !== 'idle') throw new Error(`becomeCandidate from ${st.role}: only an idle node may start phase 1`);
    st.leadBallot = this.node.newBallot();
    st.role = 'preparing';
    st.p1From = this.node.learner.firstUndecided;
    st.p1Covered = st.p1From;
    st.p1Promises.reset();
    st.p1Votes.clear();
    st.leadAt = now + this.node.cfg.attemptTimeout_ms;
    if (this.holder !== null) this.requestLease(now);
    this.node.toAcceptors({ t: MsgType.Prepare, slot: st.p1From, ballot: st.leadBallot, open: true });
  }

  /** preparing -> leading: a quorum promised. Re-propose every recovered vote, fill the holes below the highest with no-ops. */
  private becomeLeader(now: number): void {
    const st = this.state;
    if (st.role !== 'preparing') throw new Error(`becomeLeader from ${st.role}: only a preparing node may lead`);
    st.role = 'leading';
    st.leadFailures = 0;
    this.node.stats.leaderChanges++;
    // Below `start` some promiser may have forgotten its votes: we must not propose there
    // (those slots are decided; we learn them from a peer, or catch up by snapshot).
    const start = Math.max(st.p1From, st.p1Covered, this.node.learner.forgottenBelow);
    st.commitFrom = st.commitTo = st.advertisedTo = start;
    st.quorumDecided.clear();
    st.leadAt = Number.POSITIVE_INFINITY;
    let top = start - 1;
    for (const s of st.p1Votes.keys()) if (s > top) top = s;
    for (let s = start; s <= top; s++) {
      if (this.node.learner.has(s) || st.instances.has(s)) continue;
      const vote = st.p1Votes.get(s);
      const value = vote === undefined || this.node.cfg.bugs.proposeArbitraryValue ? NOOP : vote.value;
      // Commands we still owe a client ride in their old slot; if that slot goes to another value, they are requeued.
      let owed = false;
      if (value !== NOOP) for (const c of commandsOf(value) ?? [value]) owed = st.pending.delete(c) || owed;
      this.startPhase2(s, owed ? value : null, value, now);
    }
    st.p1Votes.clear();
    st.nextSlot = Math.max(top + 1, this.node.learner.firstUndecided);
    st.recoveredTo = st.nextSlot;
    this.pump(now);
  }

  /** preparing or leading -> idle: pre-empted, timed out or no longer trusted; our values go back to the queue. */
  private stepDown(now: number, reason: FailureReason | 'demoted'): void {
    const st = this.state;
    if (st.role === 'idle') throw new Error(`stepDown (${reason}) from idle: nothing to step down from`);
    // Tell followers what was decided under the old ballot before the range is dropped.
    if (st.role === 'leading') this.advanceCommit(false);
    st.role = 'idle';
    st.quorumDecided.clear();
    this.holder?.drop();
    this.failReads();
    for (const inst of st.instances.values()) if (inst.own !== null) this.requeue(inst.own);
    st.instances.clear();
    st.batchAt = Number.POSITIVE_INFINITY;
    st.leaseAt = Number.POSITIVE_INFINITY;
    if (reason === 'demoted') {
      st.leadAt = Number.POSITIVE_INFINITY;
      this.pump(now);
      return;
    }
    if (reason === 'timeout') this.node.stats.timeouts++;
    st.leadFailures++;
    st.leadAt = now + this.node.policy.retryDelay_ms(st.leadFailures, 0, this.node.random);
  }

  // ---- phase 1 and 2 ------------------------------------------------------------

  onPromise(from: NodeId, m: PromiseMsg, now: number): void {
    const st = this.state;
    if (!m.open || st.role !== 'preparing' || m.ballot !== st.leadBallot) return void this.node.stats.staleMessages++;
    for (const v of m.votes) {
      const best = st.p1Votes.get(v.slot);
      if (best === undefined || v.ballot > best.ballot) st.p1Votes.set(v.slot, v);
    }
    if (m.slot > st.p1Covered) st.p1Covered = m.slot;
    if (st.p1Promises.add(from)) this.becomeLeader(now);
  }

  /** Phase 2 only, under the leader's ballot. */
  private startPhase2(slot: Slot, own: Value | null, value: Value, now: number): void {
    const inst = newInstance(slot, own, value, this.node.cfg.quorum, false);
    inst.ballot = this.state.leadBallot;
    inst.ballots = 1;
    inst.phase = Phase.Accept;
    inst.at = now + this.node.cfg.attemptTimeout_ms;
    this.state.instances.set(slot, inst);
    this.node.toAcceptors({ t: MsgType.Accept, slot, ballot: inst.ballot, value });
  }

  onAccepted(from: NodeId, slot: Slot, ballot: Ballot, now: number): void {
    const st = this.state;
    const inst = st.instances.get(slot);
    if (inst === undefined || inst.phase !== Phase.Accept || inst.ballot !== ballot) return void this.node.stats.staleMessages++;
    if (!inst.accepts.add(from)) return;
    if (st.role === 'leading' && ballot === st.leadBallot) {
      // Decided by a quorum at our leader ballot: followers learn it from the next Commit.
      if (slot >= st.commitTo) st.quorumDecided.set(slot, true);
    } else {
      this.node.toOthers({ t: MsgType.Decide, slot, value: inst.value });
    }
    this.node.learn(slot, inst.value, now);
  }

  onNack(m: Nack, now: number): void {
    const st = this.state;
    if (st.role !== 'idle' && m.ballot === st.leadBallot) this.stepDown(now, 'nack');
  }

  learned(slot: Slot, value: Value, _now: number): number {
    const st = this.state;
    let ballots = 0;
    const inst = st.instances.get(slot);
    if (inst !== undefined) {
      st.instances.delete(slot);
      if (inst.own === value) ballots = inst.ballots;
      else if (inst.own !== null) this.requeue(inst.own);
    }
    // Release every command of the value we still queue or forwarded (skipped when there is none: a follower).
    if (value !== NOOP && (st.pending.size > 0 || st.forwarded.size > 0)) {
      for (const c of commandsOf(value) ?? [value]) {
        st.pending.delete(c);
        st.forwarded.delete(c);
      }
    }
    return ballots;
  }

  installed(index: Slot, now: number, holds: (value: Value) => boolean): void {
    const st = this.state;
    for (const inst of st.instances.values()) {
      if (inst.slot >= index) continue;
      st.instances.delete(inst.slot);
      if (inst.own !== null) this.requeue(inst.own);
    }
    // Commands the snapshot already holds are done: proposing them again would only decide a copy.
    for (const c of [...st.pending.keys()]) if (holds(c)) st.pending.delete(c);
    for (const c of [...st.forwarded.keys()]) if (holds(c)) st.forwarded.delete(c);
    if (st.role === 'leading' && st.commitTo < index) {
      // The range cannot run through slots it did not decide: tell followers what it has, restart it at the snapshot.
      this.sendCommit();
      st.commitFrom = st.commitTo = st.advertisedTo = index;
      for (const s of st.quorumDecided.keys()) if (s < index) st.quorumDecided.delete(s);
    }
    if (st.nextSlot < index) st.nextSlot = index;
    this.pump(now);
  }

  // ---- the commit range -------------------------------------------------------------

  /**
   * Moves the commit range over slots decided by quorum at leadBallot. A slot
   * learned any other way ends the range (it may have been chosen at another
   * ballot, where a follower's vote at leadBallot would be stale): the range
   * restarts after it, once followers have been told the old one.
   * `force`: advertise the whole range again (heartbeat: repairs a lost Commit).
   */
  private advanceCommit(force: boolean): void {
    const st = this.state;
    const learner = this.node.learner;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const s = st.commitTo;
      if (st.quorumDecided.delete(s)) {
        st.commitTo = s + 1;
      } else if (s < learner.forgottenBelow || learner.has(s)) {
        this.sendCommit();
        st.commitFrom = st.commitTo = st.advertisedTo = s + 1;
      } else break;
    }
    if (force) st.advertisedTo = st.commitFrom;
    this.sendCommit();
  }

  private sendCommit(): void {
    const st = this.state;
    if (st.commitTo <= st.advertisedTo) return;
    st.advertisedTo = st.commitTo;
    this.node.toOthers({ t: MsgType.Commit, ballot: st.leadBallot, from: st.commitFrom, to: st.commitTo });
  }

  /** The turn's batches, then one Commit per follower per driver turn instead of a Decide per slot per follower. */
  endTurn(now: number): void {
    const st = this.state;
    if (st.role !== 'leading') return;
    if (this.node.cfg.batchMax > 1) this.fillWindow(now);
    this.advanceCommit(false);
    if (st.readWanted && st.readIndex < 0) this.startReadRound(now);
  }

  // ---- reads -----------------------------------------------------------------------

  /**
   * A linearizable read arrived: its ticket (the number of the round that
   * will confirm it, started at the end of this turn or after the round in
   * flight), or -1 when this node does not lead.
   */
  readTicket(): number {
    const st = this.state;
    if (st.role !== 'leading') return -1;
    st.readWanted = true;
    return st.readSeq + 1;
  }

  /** The index below which every slot must be applied before a read: past every slot decided here, and past what phase 1 recovered. */
  private readIndexNow(): Slot {
    return Math.max(this.node.learner.highestDecided + 1, this.state.recoveredTo);
  }

  private startReadRound(now: number): void {
    const st = this.state;
    st.readSeq++;
    st.readWanted = false;
    st.readIndex = this.readIndexNow();
    st.readAcks.reset();
    st.readAt = now + this.node.cfg.attemptTimeout_ms;
    this.node.toAcceptors({ t: MsgType.ReadIndex, ballot: st.leadBallot, seq: st.readSeq });
  }

  onReadAck(from: NodeId, m: ReadAck): void {
    const st = this.state;
    if (st.role !== 'leading' || st.readIndex < 0 || m.ballot !== st.leadBallot || m.seq !== st.readSeq) return void this.node.stats.staleMessages++;
    if (!st.readAcks.add(from)) return;
    this.node.effects.addRead({ seq: st.readSeq, index: st.readIndex });
    st.readIndex = -1;
    st.readAt = Number.POSITIVE_INFINITY;
  }

  /** Stepping down: the reads of the round in flight and those waiting for the next one fail (retried at the new leader). */
  private failReads(): void {
    const st = this.state;
    st.readAt = Number.POSITIVE_INFINITY;
    if (st.readIndex < 0 && !st.readWanted) return;
    // Tickets up to readSeq + 1 are out; that number is used up, so a later read never shares a failed ticket.
    st.readSeq++;
    this.node.effects.addRead({ seq: st.readSeq, index: -1 });
    st.readIndex = -1;
    st.readWanted = false;
  }

  /**
   * A lease read may be answered now, with no message, once the slots below
   * the returned index are applied (-1: not now). Asked again right before
   * the query: the lease may have run out while the slots were applied.
   */
  leaseReadIndex(now: number): Slot {
    const st = this.state;
    const bugs = this.node.cfg.bugs;
    if (this.holder === null) return -1;
    // Preparing, an older leader's accepts may still be chosen at its ballot: the lease says nothing about them yet.
    if (st.role !== 'leading' && !(bugs.leaseReadWhileNotLeading && st.role === 'preparing')) return -1;
    if (!this.holder.validFor(st.leadBallot, now)) return -1;
    if (bugs.leaseReadBeforeRecovered) return this.node.learner.highestDecided + 1;
    // What phase 1 recovered may have been chosen at an older ballot, and acknowledged, before this node decides it.
    if (this.node.learner.firstUndecided < st.recoveredTo) return -1;
    return this.readIndexNow();
  }

  // ---- election and leases --------------------------------------------------------

  heard(from: NodeId, now: number): void {
    this.omega.heard(from, now);
  }

  onHeartbeat(): void {}

  onLeaseRequest(from: NodeId, m: LeaseRequest, now: number): void {
    const acceptor = this.node.acceptor;
    if (this.grantor === null || acceptor === null) return;
    if (this.grantor.tryGrant(from, m.ballot, acceptor.promisedIn(EVERY_SLOT), now)) this.node.send(from, { t: MsgType.LeaseGrant, ballot: m.ballot, seq: m.seq });
  }

  onLeaseGrant(from: NodeId, m: LeaseGrant): void {
    // Only for the ballot we hold now (the holder also matches the pending request's ballot and seq).
    const st = this.state;
    if (st.role === 'idle' || (m.ballot !== st.leadBallot && !this.node.cfg.bugs.leaseIgnoresBallot)) return void this.node.stats.staleMessages++;
    this.holder?.granted(from, m.ballot, m.seq);
  }

  blocksPrepare(from: NodeId, now: number): boolean {
    return this.grantor !== null && this.grantor.blocks(from, now);
  }

  private requestLease(now: number): void {
    const lease = this.node.policy.lease;
    if (this.holder === null || lease === null) return;
    const seq = this.holder.request(this.state.leadBallot, now);
    this.node.toAcceptors({ t: MsgType.LeaseRequest, ballot: this.state.leadBallot, seq });
    this.state.leaseAt = now + lease.lease_ms / 4;
  }

  leaseValid(now: number): boolean {
    return this.holder !== null && this.state.role !== 'idle' && this.holder.valid(now);
  }

  // ---- timers ----------------------------------------------------------------------

  onSync(): void {}

  tick(now: number): void {
    const st = this.state;
    if (st.heartbeatAt <= now) this.onHeartbeatTimer(now);
    if (st.leadAt <= now) {
      st.leadAt = Number.POSITIVE_INFINITY;
      if (st.role === 'preparing') this.stepDown(now, 'timeout');
      else if (st.role === 'idle' && this.omega.leader(now) === this.node.id) this.becomeCandidate(now);
    }
    if (st.leaseAt <= now) {
      st.leaseAt = Number.POSITIVE_INFINITY;
      if (st.role !== 'idle') this.requestLease(now);
    }
    if (st.forwardAt <= now) {
      st.forwardAt = Number.POSITIVE_INFINITY;
      this.reroute(now);
    }
    if (st.batchAt <= now) {
      st.batchAt = Number.POSITIVE_INFINITY;
      if (st.role === 'leading') this.fillWindow(now);
    }
    if (st.readAt <= now) {
      // Ask again under the same ballot and number: acks to a repeat are still sent after the reads arrived.
      st.readAt = now + this.node.cfg.attemptTimeout_ms;
      this.node.toAcceptors({ t: MsgType.ReadIndex, ballot: st.leadBallot, seq: st.readSeq });
    }
    // Checked first: tick runs every turn, and takeDue copies the instances.
    if (st.instances.min(timerOf) > now) return;
    for (const inst of takeDue(st.instances.values(), now)) {
      if (st.instances.get(inst.slot) !== inst) continue;
      // Resend phase 2 under the same ballot (messages may have been lost).
      inst.at = now + this.node.cfg.attemptTimeout_ms;
      this.node.toAcceptors({ t: MsgType.Accept, slot: inst.slot, ballot: inst.ballot, value: inst.value });
    }
  }

  /** Forwarded values not decided in time come back to the queue (the leader may have changed). */
  private reroute(now: number): void {
    const st = this.state;
    let next = Number.POSITIVE_INFINITY;
    for (const [value, at] of st.forwarded) {
      if (at <= now) {
        st.forwarded.delete(value);
        st.pending.set(value, true);
      } else if (at < next) next = at;
    }
    st.forwardAt = next;
    this.pump(now);
  }

  private onHeartbeatTimer(now: number): void {
    const st = this.state;
    st.heartbeatAt = now + this.election.heartbeat_ms;
    const ballot = st.role === 'leading' ? st.leadBallot : NO_BALLOT;
    this.node.toOthers({ t: MsgType.Heartbeat, ballot, decidedUpTo: this.node.learner.firstUndecided });
    if (st.role === 'leading') this.advanceCommit(true);
    // A candidate re-sends its phase 1 to the acceptors that have not promised yet: a prepare lost (a peer that
    // was down, a dropped message) would otherwise cost a whole attempt timeout before anyone leads.
    if (st.role === 'preparing') {
      const prepare = { t: MsgType.Prepare, slot: st.p1From, ballot: st.leadBallot, open: true } as const;
      for (let to = 0; to < this.node.cfg.acceptors; to++) if (to !== this.node.id && !st.p1Promises.has(to)) this.node.send(to, prepare);
    }
    if (this.holder !== null) {
      const valid = this.leaseValid(now);
      if (st.leaseWasValid && !valid) this.node.stats.leaseExpiries++;
      st.leaseWasValid = valid;
    }
    if (this.omega.leader(now) === this.node.id) {
      if (st.role === 'idle' && st.leadAt === Number.POSITIVE_INFINITY) this.becomeCandidate(now);
    } else if (st.role !== 'idle') this.stepDown(now, 'demoted');
    else if (st.pending.size > 0) this.pump(now);
  }

  nextDeadline(): number {
    const st = this.state;
    return Math.min(st.heartbeatAt, st.leadAt, st.leaseAt, st.forwardAt, st.batchAt, st.readAt, st.instances.min(timerOf));
  }

  get outstanding(): number {
    let own = 0;
    for (const inst of this.state.instances.values()) if (inst.own !== null) own++;
    return this.state.pending.size + this.state.forwarded.size + own;
  }
}
