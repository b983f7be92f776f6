/**
 * The two sides of a Paxos lease, on local monotonic clocks.
 *
 * Grantor: grants to one node at a time for `lease_ms`; refuses others until the
 * grant ends. After a (re)start it grants nothing for `lease_ms`, because a grant
 * made before the crash may still be running and was not persisted. A grant is
 * bound to the requester's ballot, and refused when that ballot is below this
 * acceptor's promise: a node that finished phase 1 above it may be committing
 * already, and a grant must never tell the holder that nobody else commits.
 *
 * Holder: counts a lease from the moment it *sent* the request, for
 * `lease_ms - drift_ms`, so that its lease ends before any grantor's grant does
 * as long as clocks drift apart by less than `drift_ms` per lease. A grant
 * counts only if it echoes the pending request's ballot and sequence number:
 * ballots are never reused (also across a crash, when `seq` starts again at 1),
 * so a grant for an earlier incarnation's or an earlier ballot's request never
 * counts. The lease it makes is bound to that ballot (`validFor`).
 */
import { NO_BALLOT, type Ballot, type NodeId } from './ballot.js';
import type { LeaseParams } from './policy.js';

/** Test-only: the lease without its ballot binding (how leases were before reads used them). */
export interface LeaseBugs {
  leaseIgnoresBallot?: boolean;
}

export class LeaseGrantor {
  private holder: NodeId = -1;
  private grantedUntil_ms: number;

  constructor(
    private readonly params: LeaseParams,
    startedAt_ms: number,
    private readonly bugs: LeaseBugs = {},
  ) {
    this.grantedUntil_ms = startedAt_ms + params.lease_ms;
  }

  /**
   * True if `from`, at `ballot`, may hold a lease now; the grant then runs
   * `lease_ms` from now. `promised`: this acceptor's promise for every slot.
   */
  tryGrant(from: NodeId, ballot: Ballot, promised: Ballot, now_ms: number): boolean {
    if (ballot < promised && !this.bugs.leaseIgnoresBallot) return false;
    if (now_ms < this.grantedUntil_ms && this.holder !== from) return false;
    this.holder = from;
    this.grantedUntil_ms = now_ms + this.params.lease_ms;
    return true;
  }

  /** While a grant to another node runs, prepares from `from` are refused. */
  blocks(from: NodeId, now_ms: number): boolean {
    return now_ms < this.grantedUntil_ms && this.holder !== from;
  }

  /**
   * Model checking: canonical state, times relative to `now_ms`. An ended grant
   * is written as ending now: both methods only ask `now < grantedUntil`, and
   * time only moves on, so every ended grant behaves alike (and the state
   * space stays finite).
   */
  fingerprint(now_ms: number): string {
    return `${this.holder}|${Math.max(this.grantedUntil_ms - now_ms, 0)}`;
  }
}

export class LeaseHolder {
  private seq = 0;
  private pendingSeq = -1;
  private pendingBallot: Ballot = NO_BALLOT;
  private pendingSentAt_ms = 0;
  private readonly grants = new Set<NodeId>();
  private leaseBallot: Ballot = NO_BALLOT;
  private validUntil_ms = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly params: LeaseParams,
    private readonly quorum: number,
    private readonly bugs: LeaseBugs = {},
  ) {}

  /** Starts a new request round for a lease at `ballot`; returns its sequence number. */
  request(ballot: Ballot, now_ms: number): number {
    this.seq += 1;
    this.pendingSeq = this.seq;
    this.pendingBallot = ballot;
    this.pendingSentAt_ms = now_ms;
    this.grants.clear();
    return this.seq;
  }

  /** Counts a grant; returns true when it completes a majority for the pending request. */
  granted(from: NodeId, ballot: Ballot, seq: number): boolean {
    if (seq !== this.pendingSeq || (ballot !== this.pendingBallot && !this.bugs.leaseIgnoresBallot)) return false;
    this.grants.add(from);
    if (this.grants.size < this.quorum) return false;
    this.validUntil_ms = this.pendingSentAt_ms + this.params.lease_ms - this.params.drift_ms;
    this.leaseBallot = this.pendingBallot;
    this.pendingSeq = -1;
    return true;
  }

  /** A lease runs (at whatever ballot): the contention device's view. */
  valid(now_ms: number): boolean {
    return now_ms < this.validUntil_ms;
  }

  /** A lease runs, made of grants bound to `ballot`: what reads need. */
  validFor(ballot: Ballot, now_ms: number): boolean {
    return now_ms < this.validUntil_ms && this.leaseBallot === ballot;
  }

  validUntil(): number {
    return this.validUntil_ms;
  }

  /** Gives the lease up (for example on losing leadership). */
  drop(): void {
    this.validUntil_ms = Number.NEGATIVE_INFINITY;
    this.pendingSeq = -1;
  }

  /**
   * Model checking: canonical state, times relative to `now_ms`, clamped where
   * every smaller value behaves alike (so the state space stays finite): an
   * ended lease is written as ending now (`valid` only asks `now <
   * validUntil`), and a request sent `lease_ms - drift_ms` ago or earlier as
   * exactly that long ago (a majority for it would give a lease that has already ended).
   * The ballots are written only while they can be read (a request pending, a lease running).
   */
  fingerprint(now_ms: number): string {
    const usable = this.params.lease_ms - this.params.drift_ms;
    const pending = this.pendingSeq < 0 ? '-' : `${Math.max(this.pendingSentAt_ms - now_ms, -usable)}@${this.pendingBallot}`;
    const left = Math.max(this.validUntil_ms - now_ms, 0);
    return `${this.seq}|${this.pendingSeq}|${pending}|${[...this.grants].sort((a, b) => a - b).join(',')}|${left}${left > 0 ? `@${this.leaseBallot}` : ''}`;
  }

  /** Lease requests started so far (the sequence number of the latest; the model checker bounds it through the requests' `seq`). */
  get requests(): number {
    return this.seq;
  }
}
