/**
 * What the core asks of a contention policy: how long to wait before retrying
 * a failed attempt, whether the cluster elects a leader (and holds leases),
 * and how many slots one proposer keeps in flight.
 *
 * The retry rule is a pure function: every input (the attempt number, the
 * previous delay, the random source) comes in as an argument and the state it
 * needs (the previous delay, for decorrelated jitter) lives in the replica's
 * own state, where the model checker's fingerprint sees it. So one policy
 * object can be shared by every replica, the simulator replays it from a
 * seed, and nothing about it hides from the checker.
 */
export type FailureReason = 'nack' | 'timeout';

/**
 * The delay before retry number `attempt` (1 after the first failure, 2 after
 * the second, ...), given the delay drawn before it in the same backoff stream
 * (`previous_ms`, 0 when there was none). Pure: `random` is the injected source.
 */
export type RetryDelay = (attempt: number, previous_ms: number, random: () => number) => number;

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

/**
 * What a proposer does with a value whose slot went to another value:
 * `now` moves it to the next free slot at once (the losers of a slot herd to
 * the next one together); `backoff` waits the policy's delay for the value's
 * failure count so far (carried across slots) before it tries the next slot.
 */
export type AfterLostSlot = 'now' | 'backoff';

export interface ContentionPolicy {
  readonly name: string;
  readonly retryDelay_ms: RetryDelay;
  /** True when `retryDelay_ms` reads `previous_ms` (decorrelated jitter): only then does the replica keep it. */
  readonly usesPreviousDelay: boolean;
  readonly afterLostSlot: AfterLostSlot;
  /** Non-null: elect a leader, forward proposals to it, and let it run stable-leader Multi-Paxos. */
  readonly election: ElectionParams | null;
  /** Non-null (only with an election): the leader also holds a lease. */
  readonly lease: LeaseParams | null;
  /** How many slots one proposer keeps in flight (a stable leader's phase-2 window). */
  readonly window: number;
}
