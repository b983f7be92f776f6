/**
 * The two sides of a Paxos lease, on local monotonic clocks.
 *
 * Grantor: grants to one node at a time for `lease_ms`; refuses others until the
 * grant ends. After a (re)start it grants nothing for `lease_ms`, because a grant
 * made before the crash may still be running and was not persisted.
 *
 * Holder: counts a lease from the moment it *sent* the request, for
 * `lease_ms - drift_ms`, so that its lease ends before any grantor's grant does
 * as long as clocks drift apart by less than `drift_ms` per lease.
 */
import type { NodeId } from './ballot.js';
import type { LeaseParams } from './policy.js';

export class LeaseGrantor {
  private holder: NodeId = -1;
  private grantedUntil_ms: number;

  constructor(
    private readonly params: LeaseParams,
    startedAt_ms: number,
  ) {
    this.grantedUntil_ms = startedAt_ms + params.lease_ms;
  }

  /** True if `from` may hold a lease now; the grant then runs `lease_ms` from now. */
  tryGrant(from: NodeId, now_ms: number): boolean {
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
  private pendingSentAt_ms = 0;
  private readonly grants = new Set<NodeId>();
  private validUntil_ms = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly params: LeaseParams,
    private readonly quorum: number,
  ) {}

  /** Starts a new request round; returns its sequence number. */
  request(now_ms: number): number {
    this.seq += 1;
    this.pendingSeq = this.seq;
    this.pendingSentAt_ms = now_ms;
    this.grants.clear();
    return this.seq;
  }

  /** Counts a grant; returns true when it completes a majority for the pending request. */
  granted(from: NodeId, seq: number): boolean {
    if (seq !== this.pendingSeq) return false;
    this.grants.add(from);
    if (this.grants.size < this.quorum) return false;
    this.validUntil_ms = this.pendingSentAt_ms + this.params.lease_ms - this.params.drift_ms;
    this.pendingSeq = -1;
    return true;
  }

  valid(now_ms: number): boolean {
    return now_ms < this.validUntil_ms;
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
   */
  fingerprint(now_ms: number): string {
    const usable = this.params.lease_ms - this.params.drift_ms;
    const sent = this.pendingSeq < 0 ? '-' : String(Math.max(this.pendingSentAt_ms - now_ms, -usable));
    return `${this.seq}|${this.pendingSeq}|${sent}|${[...this.grants].sort((a, b) => a - b).join(',')}|${Math.max(this.validUntil_ms - now_ms, 0)}`;
  }

  /** Lease requests started so far (the sequence number of the latest; the model checker bounds it through the requests' `seq`). */
  get requests(): number {
    return this.seq;
  }
}
