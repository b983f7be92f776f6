/**
 * The contention policy interface: what a proposer does when its attempt at a
 * slot fails, and whether the cluster elects a leader (and holds leases).
 *
 * The core calls into a policy on its events and obeys the answer. Policies are
 * pure: time and randomness come in through the context, never from globals,
 * so the same policy runs in the workers and, deterministically, in the simulator.
 */
import type { Ballot } from './ballot.js';
import type { Slot } from './messages.js';

export type FailureReason = 'nack' | 'timeout';

export interface FailureEvent {
  reason: FailureReason;
  slot: Slot;
  /** 1 for the first failure of this proposal, 2 for the second, ... */
  attempt: number;
  /** The highest ballot seen so far: a retry goes above it. */
  seen: Ballot;
}

export interface PolicyContext {
  /** The node's monotonic clock, in ms. */
  now_ms: number;
  /** Uniform in [0, 1), from the injected seeded source. */
  random: () => number;
}

/** Retry with a ballot above the one seen, after `delay_ms` (0: at once); or wait for a leader to act. */
export type FailureAction = { kind: 'retry'; delay_ms: number } | { kind: 'wait' };

/** Omega-style leader election: heartbeats, and a leader is the smallest id heard from within the timeout. */
export interface ElectionParams {
  heartbeat_ms: number;
  /** Silence after which a node is suspected. Each node draws its own in [timeout_ms, 2 * timeout_ms). */
  timeout_ms: number;
}

/** Paxos leases: a majority grants `lease_ms`; the holder counts `lease_ms - drift_ms` on its own clock. */
export interface LeaseParams {
  lease_ms: number;
  drift_ms: number;
}

export interface ContentionPolicy {
  readonly name: string;
  /** Called on the first rejection (or a timeout) of an attempt. */
  onFailure(ev: FailureEvent, ctx: PolicyContext): FailureAction;
  /** One of this node's proposals was decided: reset any backoff state. */
  onDecided(): void;
  /** Non-null: elect a leader, forward proposals to it, and let it run stable-leader Multi-Paxos. */
  readonly election: ElectionParams | null;
  /** Non-null (only with an election): the leader also holds a lease. */
  readonly lease: LeaseParams | null;
  /** How many slots one proposer keeps in flight (a stable leader's phase-2 window). */
  readonly window: number;
}
