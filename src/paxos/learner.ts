/**
 * The learner's log: decided values by slot, and the first undecided slot
 * (every slot below it is decided). Keeps at most `retain` decided slots below
 * that frontier, so a long run's memory stays flat; older slots are forgotten
 * and must never be voted on again (the replica guards that).
 */
import type { Slot, Value } from './messages.js';

export class Learner {
  private readonly decided = new Map<Slot, Value>();
  private frontier: Slot = 0;
  private forgotten: Slot = 0;
  private maxSlot: Slot = -1;

  constructor(private readonly retain: number) {}

  get(slot: Slot): Value | undefined {
    return this.decided.get(slot);
  }

  has(slot: Slot): boolean {
    return this.decided.has(slot);
  }

  /** Records a decision. Returns false if the slot was already decided (same or, if safety broke, another value). */
  learn(slot: Slot, value: Value): boolean {
    if (slot < this.forgotten || this.decided.has(slot)) return false;
    this.decided.set(slot, value);
    if (slot > this.maxSlot) this.maxSlot = slot;
    while (this.decided.has(this.frontier)) this.frontier++;
    if (this.frontier - this.forgotten > this.retain * 2) {
      // Amortized: drop a batch of `retain` old slots at once.
      const upTo = this.frontier - this.retain;
      for (let s = this.forgotten; s < upTo; s++) this.decided.delete(s);
      this.forgotten = upTo;
    }
    return true;
  }

  /** Every slot below this is decided. */
  get firstUndecided(): Slot {
    return this.frontier;
  }

  /** Slots below this were decided and then forgotten. */
  get forgottenBelow(): Slot {
    return this.forgotten;
  }

  get highestDecided(): Slot {
    return this.maxSlot;
  }

  /** Model checking: canonical state (decided slots sorted; only get/has read the Map). */
  fingerprint(): string {
    const d = [...this.decided].sort((a, b) => a[0] - b[0]);
    return `${this.frontier}|${this.forgotten}|${this.maxSlot}|${d.map(([s, v]) => `${s}:${JSON.stringify(v)}`).join(';')}`;
  }
}
