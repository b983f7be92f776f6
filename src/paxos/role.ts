/**
 * A proposer role: how this replica gets values chosen. The contention policy
 * picks one at start and it never changes: per-slot Paxos (every proposal
 * runs phase 1 and 2 in a slot of its own) or a stable leader (an elected
 * node runs one open phase 1, then phase 2 only). The replica routes the
 * proposer's messages and timers to it, so no code asks "which mode am I in?".
 */
import type { NodeId, Ballot } from './ballot.js';
import type { Heartbeat, LeaseGrant, LeaseRequest, Nack, PromiseMsg, Slot, Value } from './messages.js';

export interface ProposerRole {
  readonly mode: 'per-slot' | 'stable-leader';
  /** Queues a client value; false (and nothing changed) when the queue is full. */
  propose(value: Value, now: number): boolean;
  onPromise(from: NodeId, m: PromiseMsg, now: number): void;
  onAccepted(from: NodeId, slot: Slot, ballot: Ballot, now: number): void;
  onNack(m: Nack, now: number): void;
  onForward(value: Value, now: number): void;
  onHeartbeat(from: NodeId, m: Heartbeat, now: number): void;
  onLeaseRequest(from: NodeId, m: LeaseRequest, now: number): void;
  onLeaseGrant(from: NodeId, m: LeaseGrant): void;
  /** Any message from `from` shows it is alive (the election's failure detector). */
  heard(from: NodeId, now: number): void;
  /** True while a lease granted to another node forbids answering `from`'s prepare. */
  blocksPrepare(from: NodeId, now: number): boolean;
  /** `slot` was learned (any route): releases what the role had there; returns the ballots it spent if the value was its own. */
  learned(slot: Slot, value: Value, now: number): number;
  /**
   * A snapshot at `index` was installed: every slot below it is decided (with
   * values the core does not know). Gives up its attempts there and drops the
   * values `holds` says the snapshot holds (the driver's applier knows them by
   * request id); the others are requeued (one decided there anyway is applied
   * once: the applier dedupes).
   */
  installed(index: Slot, now: number, holds: (value: Value) => boolean): void;
  /** Moves queued values into slots while the window allows (after a learn frees one). */
  pump(now: number): void;
  /** The anti-entropy period: the per-slot proposer looks for holes to fill. */
  onSync(now: number): void;
  /** Fires the role's due timers. */
  tick(now: number): void;
  nextDeadline(): number;
  /** The end of a driver turn: effects batched per turn (a stable leader's Commit, its command batches). */
  endTurn(now: number): void;
  /** Proposals this node still owes an answer for (queued, in flight or forwarded). */
  readonly outstanding: number;
  leaseValid(now: number): boolean;
}
