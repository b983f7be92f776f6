/**
 * One proposer's attempt at one slot, as plain data (so the model checker's
 * copy and fingerprint see all of it). Both proposer roles use it: the per-slot
 * proposer through phase 1 and 2, the stable leader in phase 2 only.
 */
import { NO_BALLOT, type Ballot } from './ballot.js';
import type { Slot, Value, Vote } from './messages.js';
import { QuorumCounter } from './quorum.js';

export const Phase = { Backoff: 0, Prepare: 1, Accept: 2 } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export interface Instance {
  slot: Slot;
  /** The value this node wants chosen, or null when it only completes another's (a hole, leader recovery). */
  own: Value | null;
  /** The value in phase 2. */
  value: Value;
  ballot: Ballot;
  phase: Phase;
  /** Ballots started on `own`'s behalf (in this slot and, carried, in earlier ones). */
  ballots: number;
  /** Failed attempts in this slot: the backoff exponent. */
  failures: number;
  promises: QuorumCounter;
  best: Vote | null;
  accepts: QuorumCounter;
  /** The instance's one timer, on the node's clock: retry (Backoff), timeout (Prepare), resend (Accept). */
  at: number;
}

/** `phase1`: the instance may run phase 1 (per-slot Paxos); a stable leader's phase-2 instance shares an empty promise counter. */
export function newInstance(slot: Slot, own: Value | null, value: Value, quorum: number, phase1 = true): Instance {
  return {
    slot, own, value, ballot: NO_BALLOT, phase: Phase.Backoff, ballots: 0, failures: 0,
    promises: phase1 ? new QuorumCounter(quorum) : NO_PROMISES, best: null, accepts: new QuorumCounter(quorum), at: Number.POSITIVE_INFINITY,
  };
}

/** Never added to (phase-2-only instances): one object instead of one per slot. */
const NO_PROMISES = new QuorumCounter(Number.POSITIVE_INFINITY);

export function phaseName(p: Phase): 'backoff' | 'prepare' | 'accept' {
  return p === Phase.Backoff ? 'backoff' : p === Phase.Prepare ? 'prepare' : 'accept';
}

/** An instance's timer (a named function: SlotMap.min takes it without a closure per call). */
export function timerOf(i: Instance): number {
  return i.at;
}

/** The instances whose timer is due at `now`, in slot order (their timers consumed). */
export function takeDue(instances: Iterable<Instance>, now: number): Instance[] {
  const due: Instance[] = [];
  for (const i of instances) if (i.at <= now) due.push(i);
  due.sort((a, b) => a.slot - b.slot);
  for (const i of due) i.at = Number.POSITIVE_INFINITY;
  return due;
}
