/**
 * The learner's log: decided values by slot, and the first undecided slot
 * (every slot below it is decided). Keeps at most `retain` decided slots below
 * that frontier, and of those at most `retain_chars` characters of values (a
 * slot count alone would let 10,000 batches of up to 1 MiB each hold 10 GiB),
 * so a long run's memory stays flat; older slots are forgotten and must never
 * be voted on again (the replica guards that).
 *
 * With snapshots (the driver takes them and says so), the learner also keeps
 * every slot from its latest durable snapshot on (`keepFrom`): a peer behind
 * its forgotten mark catches up from that snapshot, and then needs the slots
 * after it from someone. A snapshot installed from a peer (or restored at
 * start) moves the whole log to it: every slot below is decided and forgotten.
 */
import type { Slot, Value } from './messages.js';
import { SlotWindow } from './slot-window.js';

export class Learner {
  /** Decided values by slot, in a window of cells (no Map entry per slot); its base is the forgotten mark. */
  private readonly decided = new SlotWindow<Value>(0, 1);
  private frontier: Slot = 0;
  /** Slots from here on are kept whatever `retain` says (the latest snapshot); Infinity: no snapshots. */
  private keepFrom: Slot;
  /** Characters of the values held (derived from the window: the sum of their lengths). */
  private heldChars = 0;

  constructor(
    private readonly retain: number,
    snapshots: boolean,
    private readonly retain_chars = Number.POSITIVE_INFINITY,
  ) {
    this.keepFrom = snapshots ? 0 : Number.POSITIVE_INFINITY;
  }

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
    this.heldChars += value.length;
    while (this.decided.cellOf(this.frontier) >= 0) this.frontier++;
    this.forgetOld();
    return true;
  }

  /**
   * Amortized: drops a batch of more than `retain` old slots at once, never
   * past the latest snapshot; past `retain_chars`, drops the oldest slots
   * below the frontier until half of that is held (again never past the
   * latest snapshot, whose slots a peer catching up needs).
   */
  private forgetOld(): void {
    const limit = Math.min(this.frontier, this.keepFrom);
    const target = Math.min(this.frontier - this.retain, this.keepFrom);
    if (target - this.decided.base > this.retain) this.drop(target);
    if (this.heldChars <= this.retain_chars) return;
    const values = this.decided.refs[0] as Value[];
    let chars = this.heldChars;
    let s = this.decided.base;
    for (; s < limit && chars > this.retain_chars / 2; s++) {
      const c = this.decided.cellOf(s);
      if (c >= 0) chars -= (values[c] as Value).length;
    }
    this.drop(s);
  }

  private drop(below: Slot): void {
    const values = this.decided.refs[0] as Value[];
    // A closure per drop (drops are amortized), not one kept on the object: the model checker's deep copy would
    // leave a kept one pointing at the original learner.
    this.decided.dropBelow(below, (cell) => {
      this.heldChars -= (values[cell] as Value).length;
    });
  }

  /** A durable snapshot now holds every slot below `index`: they may be forgotten (retain permitting). */
  snapshotted(index: Slot): void {
    if (index > this.keepFrom) this.keepFrom = index;
    this.forgetOld();
  }

  /**
   * A snapshot at `index` was installed (from a peer, or restored at start):
   * every slot below it is decided and forgotten; decisions above it are kept.
   */
  install(index: Slot): void {
    this.drop(index);
    if (index > this.frontier) this.frontier = index;
    while (this.decided.cellOf(this.frontier) >= 0) this.frontier++;
    if (this.keepFrom < index) this.keepFrom = index;
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
    const keep = this.keepFrom === Number.POSITIVE_INFINITY ? '' : `|${this.keepFrom}`;
    return `${this.frontier}|${this.decided.base}|${this.decided.highest}|${d.join(';')}${keep}`;
  }
}
