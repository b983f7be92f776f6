/**
 * The learner's log: decided values by slot, and the first undecided slot
 * (every slot below it is decided). Keeps at most `retain` decided slots below
 * that frontier, so a long run's memory stays flat; older slots are forgotten
 * and must never be voted on again (the replica guards that).
 */
import type { Slot, Value } from './messages.js';
import { SlotWindow } from './slot-window.js';

export class Learner {
  /** Decided values by slot, in a window of cells (no Map entry per slot); its base is the forgotten mark. */
  private readonly decided = new SlotWindow<Value>(0, 1);
  private frontier: Slot = 0;

  constructor(private readonly retain: number) {}

  get(slot: Slot): Value | undefined {
    const c = this.decided.cellOf(slot);
    return c < 0 ? undefined : (this.decided.refs[0] as Value[])[c];
  }

  has(slot: Slot): boolean {
    return this.decided.cellOf(slot) >= 0;
  }

  /**
   * Records a decision. Returns false if the slot was already decided (same
   * or, if safety broke, another value), forgotten, or too far above the
   * forgotten mark to hold (it is learned again later, from a peer).
   */
  learn(slot: Slot, value: Value): boolean {
    if (this.decided.cellOf(slot) >= 0) return false;
    const c = this.decided.claim(slot);
    if (c < 0) return false;
    (this.decided.refs[0] as Value[])[c] = value;
    while (this.decided.cellOf(this.frontier) >= 0) this.frontier++;
    if (this.frontier - this.decided.base > this.retain * 2) {
      // Amortized: drop a batch of `retain` old slots at once.
      this.decided.dropBelow(this.frontier - this.retain);
    }
    return true;
  }

  /** Every slot below this is decided. */
  get firstUndecided(): Slot {
    return this.frontier;
  }

  /** Slots below this were decided and then forgotten. */
  get forgottenBelow(): Slot {
    return this.decided.base;
  }

  get highestDecided(): Slot {
    return this.decided.highest;
  }

  /** Model checking: canonical state (decided slots in order: the same text as when this was a Map). */
  fingerprint(): string {
    const values = this.decided.refs[0] as Value[];
    const d = this.decided.slots().map((s) => `${s}:${JSON.stringify(values[this.decided.cellOf(s)])}`);
    return `${this.frontier}|${this.decided.base}|${this.decided.highest}|${d.join(';')}`;
  }
}
