/**
 * The acceptor: per slot, the highest promised ballot and the highest accepted
 * (ballot, value); plus a `floor`, a promise that covers every slot, granted to
 * an open prepare (a stable leader's phase 1 for all slots at once).
 *
 * The effective promise in a slot is max(slot promise, floor). Both only grow,
 * so the effective promise never decreases. The acceptor decides and returns
 * the records to persist; the caller persists them before the reply leaves.
 */
import { NO_BALLOT, type Ballot } from './ballot.js';
import type { Slot, Value, Vote } from './messages.js';
import type { PersistRecord } from './storage-records.js';
import { SlotWindow } from './slot-window.js';

export type PrepareResult =
  | { ok: true; votes: Vote[]; record: PersistRecord }
  | { ok: false; promised: Ballot }
  | { ok: 'full' };

/** `ok: false` with `promised`: rejected (a nack). `full`: the slot is beyond the window this acceptor holds (dropped, not a nack). */
export type AcceptResult = { ok: true; record: PersistRecord } | { ok: false; promised: Ballot } | { ok: 'full' };

// Columns of the slot window: the promise and the vote's ballot (numbers), the vote's value.
const PROMISED = 0;
const VOTED = 1;

/** Test-only switches that plant known bugs, to prove the checkers can fail. */
export interface AcceptorBugs {
  /** Accept a ballot below the promise. */
  acceptBelowPromise?: boolean;
}

export class Acceptor {
  private floor: Ballot = NO_BALLOT;
  /** Per slot: promise, vote ballot and vote value, in a window of cells (no object per slot). */
  private readonly slots = new SlotWindow<Value>(2, 1);
  /** The highest slot this acceptor ever voted in (-1: none): after a restart, evidence of slots that may be chosen. */
  private maxVoted: Slot = -1;

  constructor(private readonly bugs: AcceptorBugs = {}) {}

  get highestVotedSlot(): Slot {
    return this.maxVoted;
  }

  /** Slots below this were forgotten after they were decided; the caller must not route them here. */
  get forgottenBelow(): Slot {
    return this.slots.base;
  }

  /** True if this acceptor can hold state for `slot` (not forgotten, not beyond its window). */
  holds(slot: Slot): boolean {
    return this.slots.fits(slot);
  }

  promisedIn(slot: Slot): Ballot {
    const c = this.slots.cellOf(slot);
    const p = c < 0 ? NO_BALLOT : (this.slots.nums[PROMISED] as Float64Array)[c] as number;
    return p < this.floor ? this.floor : p;
  }

  /** The highest ballot promised anywhere at or above `slot` (the floor or any slot), for nacks of open prepares. */
  private maxPromisedFrom(slot: Slot): Ballot {
    let max = this.floor;
    const promised = this.slots.nums[PROMISED] as Float64Array;
    for (const s of this.slots.slots()) {
      const p = promised[this.slots.cellOf(s)] as number;
      if (s >= slot && p > max) max = p;
    }
    return max;
  }

  vote(slot: Slot): Vote | null {
    const c = this.slots.cellOf(slot);
    if (c < 0) return null;
    const ballot = (this.slots.nums[VOTED] as Float64Array)[c] as number;
    return ballot === NO_BALLOT ? null : { slot, ballot, value: (this.slots.refs[0] as Value[])[c] as Value };
  }

  /** The ballot of our vote in `slot` (NO_BALLOT: none): the commit path's question, with no object made. */
  votedBallot(slot: Slot): Ballot {
    const c = this.slots.cellOf(slot);
    return c < 0 ? NO_BALLOT : ((this.slots.nums[VOTED] as Float64Array)[c] as number);
  }

  /** The value of our vote in `slot` (call after votedBallot says there is one). */
  votedValue(slot: Slot): Value {
    const c = this.slots.cellOf(slot);
    return c < 0 ? '' : ((this.slots.refs[0] as Value[])[c] as Value);
  }

  /**
   * Phase 1b. A single-slot prepare needs ballot >= the promise in that slot; an
   * open one, >= every promise it covers. Equal is the same prepare again (a
   * duplicate, or a candidate re-sending to a peer it has not heard from): it
   * gets the same promise again, rather than a rejection of its own ballot that
   * would make the proposer give it up.
   */
  prepare(slot: Slot, ballot: Ballot, open: boolean): PrepareResult {
    if (!open) {
      if (!this.slots.fits(slot)) return { ok: 'full' };
      const promised = this.promisedIn(slot);
      if (ballot < promised) return { ok: false, promised };
      const record: PersistRecord = { k: 'promise', slot, ballot };
      this.apply(record);
      const v = this.vote(slot);
      return { ok: true, votes: v === null ? [] : [v], record };
    }
    const promised = this.maxPromisedFrom(slot);
    if (ballot < promised) return { ok: false, promised };
    const record: PersistRecord = { k: 'floor', ballot };
    this.apply(record);
    const votes: Vote[] = [];
    for (const s of this.slots.slots()) {
      const v = s >= slot ? this.vote(s) : null;
      if (v !== null) votes.push(v);
    }
    return { ok: true, votes, record };
  }

  /** Phase 2b: accept at or above the promise. */
  accept(slot: Slot, ballot: Ballot, value: Value): AcceptResult {
    if (!this.slots.fits(slot)) return { ok: 'full' };
    const promised = this.promisedIn(slot);
    if (ballot < promised && !this.bugs.acceptBelowPromise) return { ok: false, promised };
    const record: PersistRecord = { k: 'accept', slot, ballot, value };
    this.apply(record);
    return { ok: true, record };
  }

  /** Applies one record: used by prepare/accept and by recovery from storage (trusted: no window bound). */
  apply(r: PersistRecord): void {
    switch (r.k) {
      case 'floor':
        if (r.ballot > this.floor) this.floor = r.ballot;
        return;
      case 'promise': {
        const c = this.slots.claim(r.slot, true);
        if (c < 0) return; // forgotten (decided)
        const promised = this.slots.nums[PROMISED] as Float64Array;
        if (r.ballot > (promised[c] as number)) promised[c] = r.ballot;
        return;
      }
      case 'accept': {
        const c = this.slots.claim(r.slot, true);
        if (c < 0) return;
        if (r.slot > this.maxVoted) this.maxVoted = r.slot;
        const promised = this.slots.nums[PROMISED] as Float64Array;
        if (r.ballot > (promised[c] as number)) promised[c] = r.ballot;
        (this.slots.nums[VOTED] as Float64Array)[c] = r.ballot;
        (this.slots.refs[0] as Value[])[c] = r.value;
        return;
      }
      case 'round':
        return;
    }
  }

  /**
   * Drops the state of slots below `slot`, which the caller knows are decided.
   * The caller must never route a prepare or accept for them here again
   * (it answers from its learned log instead), so no vote can be cast twice.
   */
  forgetBelow(slot: Slot): void {
    this.slots.dropBelow(slot);
  }

  /** Model checking: canonical state, slots in order (the same text as when this was a Map of slots). */
  fingerprint(): string {
    const promised = this.slots.nums[PROMISED] as Float64Array;
    const voted = this.slots.nums[VOTED] as Float64Array;
    const values = this.slots.refs[0] as Value[];
    const cells = this.slots.slots().map((s) => {
      const c = this.slots.cellOf(s);
      return `${s}:${promised[c]}:${voted[c]}:${JSON.stringify(voted[c] === NO_BALLOT ? '' : values[c])}`;
    });
    return `${this.floor}|${this.slots.base}|${this.maxVoted}|${cells.join(';')}`;
  }
}
