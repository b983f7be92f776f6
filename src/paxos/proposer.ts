/**
 * The per-slot proposer: each proposal runs phase 1 and phase 2 in the next
 * free slot. On the first rejection or a timeout of an attempt, the contention
 * policy says how long to wait before retrying with a higher ballot; when
 * another value wins the slot, the proposal moves on to a later slot, at once
 * or after the policy's delay (`afterLostSlot`). A value carries its counts
 * from slot to slot: the ballots started on its behalf (what its Decision
 * reports) and its failures (the backoff exponent, which so keeps growing
 * across slots; losing a slot counts as a failure).
 *
 * It also fills holes: a slot below the highest one known decided (or voted
 * in by our own acceptor, after a restart: learners are volatile) that nobody
 * teaches us may have been chosen with no proposer left on it, and every
 * learner would stall behind it for ever. After a grace period it runs Paxos
 * on the slot with no value of its own: phase 1 yields the safe value (the
 * highest vote a quorum reports), and only if there is none a no-op.
 */
import type { Ballot, NodeId } from './ballot.js';
import { Phase, newInstance, takeDue, timerOf, type Instance } from './instance.js';
import { SlotMap } from './slot-map.js';
import { MsgType, NOOP, type Nack, type PromiseMsg, type Slot, type Value } from './messages.js';
import type { Node } from './node.js';
import type { FailureReason } from './policy.js';
import type { ProposerRole } from './role.js';
import { KeyedQueue } from './queue.js';

/** What a value carries from slot to slot. */
export interface Carry {
  ballots: number;
  failures: number;
}

export const FRESH: Readonly<Carry> = Object.freeze({ ballots: 0, failures: 0 });

export interface PerSlotState {
  /** Values waiting for a slot; a Map keeps FIFO order and deletes in O(1). */
  pending: KeyedQueue<Value, Carry>;
  /** Values that lost a slot, backing off until `at` before they try the next one (afterLostSlot 'backoff'). */
  deferred: Map<Value, { carry: Carry; at: number }>;
  instances: SlotMap<Instance>;
  /** The delay drawn last (decorrelated jitter grows from it); 0 after one of our values is decided. */
  backoffPrevious_ms: number;
  /** The first undecided slot while it has been a hole, and since when (-1: no hole). */
  holeSlot: Slot;
  holeSince_ms: number;
}

export class PerSlotProposer implements ProposerRole {
  readonly mode = 'per-slot' as const;
  readonly state: PerSlotState = { pending: new KeyedQueue(), deferred: new Map(), instances: new SlotMap(), backoffPrevious_ms: 0, holeSlot: -1, holeSince_ms: 0 };

  constructor(
    private readonly node: Node,
  ) {}

  propose(value: Value, now: number): boolean {
    const st = this.state;
    if (st.pending.has(value) || st.deferred.has(value)) return true;
    if (st.pending.size + st.deferred.size >= this.node.cfg.maxPending) return false;
    st.pending.set(value, FRESH);
    this.pump(now);
    return true;
  }

  pump(now: number): void {
    const st = this.state;
    // A value backing off after a lost slot holds its place in the window: the proposer itself waits.
    while (st.pending.size > 0 && st.instances.size + st.deferred.size < this.node.policy.window) {
      const [value, carry] = st.pending.shift();
      const inst = newInstance(this.nextFreeSlot(), value, value, this.node.cfg.quorum);
      inst.ballots = carry.ballots;
      inst.failures = carry.failures;
      st.instances.set(inst.slot, inst);
      this.startAttempt(inst, now);
    }
  }

  private nextFreeSlot(): Slot {
    const learner = this.node.learner;
    let s = learner.firstUndecided;
    while (learner.has(s) || this.state.instances.has(s)) s++;
    return s;
  }

  /** A new ballot, phase 1. */
  private startAttempt(inst: Instance, now: number): void {
    const node = this.node;
    inst.ballot = node.newBallot();
    inst.ballots++;
    if (inst.ballots > 1) node.stats.phase1Retries++;
    inst.phase = Phase.Prepare;
    inst.promises.reset();
    inst.accepts.reset();
    inst.best = null;
    inst.at = now + node.cfg.attemptTimeout_ms;
    node.toAcceptors({ t: MsgType.Prepare, slot: inst.slot, ballot: inst.ballot, open: false });
  }

  onPromise(from: NodeId, m: PromiseMsg, now: number): void {
    const inst = this.state.instances.get(m.slot);
    // Only promises for this attempt's own ballot count.
    if (m.open || inst === undefined || inst.phase !== Phase.Prepare || inst.ballot !== m.ballot) return void this.node.stats.staleMessages++;
    for (const v of m.votes) {
      if (v.slot === m.slot && (inst.best === null || v.ballot > inst.best.ballot)) inst.best = v;
    }
    if (!inst.promises.add(from)) return;
    // Phase 2 proposes the value of the highest vote reported, or our own if there is none.
    const adopt = inst.best !== null && !this.node.cfg.bugs.proposeArbitraryValue;
    inst.value = adopt && inst.best !== null ? inst.best.value : (inst.own ?? NOOP);
    inst.phase = Phase.Accept;
    inst.at = now + this.node.cfg.attemptTimeout_ms;
    this.node.toAcceptors({ t: MsgType.Accept, slot: m.slot, ballot: m.ballot, value: inst.value });
  }

  onAccepted(from: NodeId, slot: Slot, ballot: Ballot, now: number): void {
    const inst = this.state.instances.get(slot);
    if (inst === undefined || inst.phase !== Phase.Accept || inst.ballot !== ballot) return void this.node.stats.staleMessages++;
    if (!inst.accepts.add(from)) return;
    this.node.toOthers({ t: MsgType.Decide, slot, value: inst.value });
    this.node.learn(slot, inst.value, now);
  }

  onNack(m: Nack, now: number): void {
    const inst = this.state.instances.get(m.slot);
    if (inst === undefined || inst.phase === Phase.Backoff || inst.ballot !== m.ballot) return;
    this.fail(inst, 'nack', now);
  }

  /** The first failure of an attempt: abandon its ballot and ask the policy when to retry. */
  private fail(inst: Instance, reason: FailureReason, now: number): void {
    const node = this.node;
    if (reason === 'timeout') node.stats.timeouts++;
    inst.phase = Phase.Backoff;
    inst.failures++;
    const delay = this.backoff_ms(inst.failures);
    if (delay <= 0) this.startAttempt(inst, now);
    else inst.at = now + delay;
  }

  /** The policy's delay before retry number `failures` (decorrelated jitter grows from the previous one). */
  private backoff_ms(failures: number): number {
    const { policy, random } = this.node;
    const delay = policy.retryDelay_ms(failures, this.state.backoffPrevious_ms, random);
    if (policy.usesPreviousDelay) this.state.backoffPrevious_ms = delay;
    return delay;
  }

  learned(slot: Slot, value: Value, now: number): number {
    const st = this.state;
    let ballots = 0;
    const inst = st.instances.get(slot);
    if (inst !== undefined) {
      st.instances.delete(slot);
      if (inst.own === value) {
        ballots = inst.ballots;
        st.backoffPrevious_ms = 0;
      } else if (inst.own !== null) this.lostSlot(inst.own, { ballots: inst.ballots, failures: inst.failures + 1 }, now);
    }
    if (value !== NOOP) {
      st.pending.delete(value);
      st.deferred.delete(value);
    }
    return ballots;
  }

  installed(index: Slot, now: number, holds: (value: Value) => boolean): void {
    const st = this.state;
    for (const inst of st.instances.values()) {
      if (inst.slot >= index) continue;
      st.instances.delete(inst.slot);
      if (inst.own !== null && !holds(inst.own)) st.pending.set(inst.own, { ballots: inst.ballots, failures: inst.failures });
    }
    // Values the snapshot already holds are done: proposing them again would only decide a copy.
    for (const v of [...st.pending.keys()]) if (holds(v)) st.pending.delete(v);
    for (const v of [...st.deferred.keys()]) if (holds(v)) st.deferred.delete(v);
    st.holeSlot = -1;
    this.pump(now);
  }

  /** Another value won our value's slot: it tries a later one, now or after the policy's delay. */
  private lostSlot(value: Value, carry: Carry, now: number): void {
    const delay = this.node.policy.afterLostSlot === 'backoff' ? this.backoff_ms(carry.failures) : 0;
    if (delay <= 0) this.state.pending.set(value, carry);
    else this.state.deferred.set(value, { carry, at: now + delay });
  }

  onSync(now: number): void {
    const node = this.node;
    const st = this.state;
    const first = node.learner.firstUndecided;
    const top = Math.max(node.learner.highestDecided, node.acceptor?.highestVotedSlot ?? -1);
    if (top < first) {
      st.holeSlot = -1;
      return;
    }
    if (st.holeSlot !== first) {
      st.holeSlot = first;
      st.holeSince_ms = now;
      return;
    }
    // Staggered by id: the lowest live id fills first, so the stuck replicas do not duel.
    if (now - st.holeSince_ms < node.cfg.holeGrace_ms * (1 + node.id)) return;
    let fillers = 0;
    for (const inst of st.instances.values()) if (inst.own === null) fillers++;
    for (let s = first; s <= top && fillers < node.policy.window; s++) {
      if (node.learner.has(s) || st.instances.has(s)) continue;
      const inst = newInstance(s, null, NOOP, node.cfg.quorum);
      st.instances.set(s, inst);
      node.stats.holesFilled++;
      fillers++;
      this.startAttempt(inst, now);
    }
  }

  tick(now: number): void {
    const st = this.state;
    for (const [value, d] of st.deferred) {
      if (d.at > now) continue;
      st.deferred.delete(value);
      st.pending.set(value, d.carry);
    }
    if (this.state.instances.min(timerOf) > now) return this.pump(now);
    for (const inst of takeDue(this.state.instances.values(), now)) {
      if (this.state.instances.get(inst.slot) !== inst) continue; // learned while an earlier timer ran
      if (inst.phase === Phase.Backoff) this.startAttempt(inst, now);
      else this.fail(inst, 'timeout', now);
    }
    this.pump(now);
  }

  nextDeadline(): number {
    let min = this.state.instances.min(timerOf);
    for (const d of this.state.deferred.values()) if (d.at < min) min = d.at;
    return min;
  }

  get outstanding(): number {
    let own = 0;
    for (const inst of this.state.instances.values()) if (inst.own !== null) own++;
    return this.state.pending.size + this.state.deferred.size + own;
  }

  // Messages of the stable-leader mode: never sent in this mode, so only counted.
  onForward(): void {
    this.node.stats.staleMessages++;
  }
  onHeartbeat(): void {}
  onLeaseRequest(): void {}
  onLeaseGrant(): void {}
  heard(): void {}
  blocksPrepare(): boolean {
    return false;
  }
  endTurn(): void {}
  leaseValid(): boolean {
    return false;
  }
}


