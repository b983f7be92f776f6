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

interface SlotState {
  promised: Ballot;
  acceptedBallot: Ballot;
  acceptedValue: Value;
}

export type PrepareResult =
  | { ok: true; votes: Vote[]; record: PersistRecord }
  | { ok: false; promised: Ballot };

export type AcceptResult = { ok: true; record: PersistRecord } | { ok: false; promised: Ballot };

/** Test-only switches that plant known bugs, to prove the checkers can fail. */
export interface AcceptorBugs {
  /** Accept a ballot below the promise. */
  acceptBelowPromise?: boolean;
}

export class Acceptor {
  private floor: Ballot = NO_BALLOT;
  private readonly slots = new Map<Slot, SlotState>();
  /** Slots below this were forgotten after they were decided; the caller must not route them here. */
  private forgottenBelow: Slot = 0;
  /** The highest slot this acceptor ever voted in (-1: none): after a restart, evidence of slots that may be chosen. */
  private maxVoted: Slot = -1;

  constructor(private readonly bugs: AcceptorBugs = {}) {}

  promisedIn(slot: Slot): Ballot {
    const s = this.slots.get(slot);
    return s === undefined || s.promised < this.floor ? this.floor : s.promised;
  }

  /** The highest ballot promised anywhere (the floor or any slot), for nacks of open prepares. */
  private maxPromisedFrom(slot: Slot): Ballot {
    let max = this.floor;
    for (const [s, st] of this.slots) if (s >= slot && st.promised > max) max = st.promised;
    return max;
  }

  get highestVotedSlot(): Slot {
    return this.maxVoted;
  }

  vote(slot: Slot): Vote | null {
    const s = this.slots.get(slot);
    return s === undefined || s.acceptedBallot === NO_BALLOT
      ? null
      : { slot, ballot: s.acceptedBallot, value: s.acceptedValue };
  }

  /** Phase 1b. A single-slot prepare needs ballot > promise in that slot; an open one, above every promise it covers. */
  prepare(slot: Slot, ballot: Ballot, open: boolean): PrepareResult {
    if (!open) {
      const promised = this.promisedIn(slot);
      if (ballot <= promised) return { ok: false, promised };
      const record: PersistRecord = { k: 'promise', slot, ballot };
      this.apply(record);
      const v = this.vote(slot);
      return { ok: true, votes: v === null ? [] : [v], record };
    }
    const promised = this.maxPromisedFrom(slot);
    if (ballot <= promised) return { ok: false, promised };
    const record: PersistRecord = { k: 'floor', ballot };
    this.apply(record);
    const votes: Vote[] = [];
    for (const [s, st] of this.slots) {
      if (s >= slot && st.acceptedBallot !== NO_BALLOT) votes.push({ slot: s, ballot: st.acceptedBallot, value: st.acceptedValue });
    }
    votes.sort((a, b) => a.slot - b.slot);
    return { ok: true, votes, record };
  }

  /** Phase 2b: accept at or above the promise. */
  accept(slot: Slot, ballot: Ballot, value: Value): AcceptResult {
    const promised = this.promisedIn(slot);
    if (ballot < promised && !this.bugs.acceptBelowPromise) return { ok: false, promised };
    const record: PersistRecord = { k: 'accept', slot, ballot, value };
    this.apply(record);
    return { ok: true, record };
  }

  /** Applies one record: used by prepare/accept and by recovery from storage. */
  apply(r: PersistRecord): void {
    switch (r.k) {
      case 'floor':
        if (r.ballot > this.floor) this.floor = r.ballot;
        return;
      case 'promise': {
        if (r.slot < this.forgottenBelow) return;
        const s = this.slots.get(r.slot);
        if (s === undefined) this.slots.set(r.slot, { promised: r.ballot, acceptedBallot: NO_BALLOT, acceptedValue: '' });
        else if (r.ballot > s.promised) s.promised = r.ballot;
        return;
      }
      case 'accept': {
        if (r.slot < this.forgottenBelow) return;
        if (r.slot > this.maxVoted) this.maxVoted = r.slot;
        const s = this.slots.get(r.slot);
        if (s === undefined) {
          this.slots.set(r.slot, { promised: r.ballot, acceptedBallot: r.ballot, acceptedValue: r.value });
        } else {
          if (r.ballot > s.promised) s.promised = r.ballot;
          s.acceptedBallot = r.ballot;
          s.acceptedValue = r.value;
        }
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
    if (slot <= this.forgottenBelow) return;
    for (const s of this.slots.keys()) if (s < slot) this.slots.delete(s);
    this.forgottenBelow = slot;
  }

  /** Model checking: canonical state. Slots sorted: no behaviour depends on the Map's order. */
  fingerprint(): string {
    const slots = [...this.slots].sort((a, b) => a[0] - b[0]);
    return `${this.floor}|${this.forgottenBelow}|${this.maxVoted}|${slots.map(([s, st]) => `${s}:${st.promised}:${st.acceptedBallot}:${JSON.stringify(st.acceptedValue)}`).join(';')}`;
  }
}
