/**
 * Per-slot state for a window of slots [base, base + span), without an object
 * or a Map entry per slot: each slot owns the cell `slot & mask` of a few
 * column arrays (numbers in Float64Arrays, references in plain arrays) that
 * grow by doubling as the window's span grows. A cell records the slot it
 * holds and every access checks it, so a cell reused for slot s + capacity
 * never answers for slot s (the trap of ring buffers keyed by slot).
 *
 * Bounded: a slot `maxSpan` or more above `base` does not fit (`fits` is
 * false) and the caller refuses it (a replica that far behind catches up by
 * snapshot, never by growing without bound; 2^20 slots cost at most about
 * 64 MB of cells). Below `base` is forgotten.
 */
export const DEFAULT_MAX_SPAN = 1 << 20;

export class SlotWindow<R = unknown> {
  /** The slot held by each cell, -1 when the cell is empty. */
  private slotOf: Float64Array;
  private mask: number;
  /** Numeric columns (one Float64Array each) and reference columns, cell-indexed. */
  nums: Float64Array[];
  refs: R[][];
  private base_ = 0;
  private count_ = 0;
  private top_ = -1;

  constructor(
    numColumns: number,
    refColumns: number,
    initialCapacity = 64,
    private readonly maxSpan = DEFAULT_MAX_SPAN,
  ) {
    const cap = 2 ** Math.ceil(Math.log2(Math.max(2, initialCapacity)));
    this.slotOf = new Float64Array(cap).fill(-1);
    this.mask = cap - 1;
    this.nums = Array.from({ length: numColumns }, () => new Float64Array(cap));
    this.refs = Array.from({ length: refColumns }, () => new Array<R>(cap));
  }

  /** Every slot below this is forgotten. */
  get base(): number {
    return this.base_;
  }
  /** Slots held. */
  get size(): number {
    return this.count_;
  }
  /** The highest slot ever held (-1: none). */
  get highest(): number {
    return this.top_;
  }

  /** True if `slot` may be held: not forgotten, and within the span bound. */
  fits(slot: number): boolean {
    return slot >= this.base_ && slot - this.base_ < this.maxSpan;
  }

  /** The cell holding `slot`, or -1. */
  cellOf(slot: number): number {
    if (slot < this.base_) return -1;
    const i = slot & this.mask;
    return this.slotOf[i] === slot ? i : -1;
  }

  /**
   * The cell for `slot`, taken (growing the arrays if another slot sits in it)
   * if not held yet; -1 if it does not fit. `trusted` (replaying our own
   * records) ignores the span bound: the bound is for what peers send.
   */
  claim(slot: number, trusted = false): number {
    if (slot < this.base_ || (!trusted && !this.fits(slot))) return -1;
    const held = this.cellOf(slot);
    if (held >= 0) return held;
    while (this.slotOf[slot & this.mask] !== -1) this.grow();
    const i = slot & this.mask;
    this.slotOf[i] = slot;
    this.count_++;
    if (slot > this.top_) this.top_ = slot;
    return i;
  }

  /** Empties the cell of `slot`, if held. */
  release(slot: number): void {
    const i = this.cellOf(slot);
    if (i >= 0) this.clear(i);
  }

  /**
   * Forgets every slot below `slot`: O(slots dropped), or O(capacity) when that
   * is less. `onDrop` sees each held cell just before it is emptied.
   */
  dropBelow(slot: number, onDrop?: (cell: number) => void): void {
    if (slot <= this.base_) return;
    if (slot - this.base_ < this.slotOf.length) {
      for (let s = this.base_; s < slot; s++) {
        const i = this.cellOf(s);
        if (i < 0) continue;
        onDrop?.(i);
        this.clear(i);
      }
    } else {
      for (let i = 0; i < this.slotOf.length; i++) {
        const s = this.slotOf[i] as number;
        if (s < 0 || s >= slot) continue;
        onDrop?.(i);
        this.clear(i);
      }
    }
    this.base_ = slot;
  }

  /** Held slots in ascending order. */
  slots(): number[] {
    const held: number[] = [];
    for (let i = 0; i < this.slotOf.length; i++) if ((this.slotOf[i] as number) >= 0) held.push(this.slotOf[i] as number);
    return held.sort((a, b) => a - b);
  }

  private clear(i: number): void {
    this.slotOf[i] = -1;
    for (const c of this.nums) c[i] = 0;
    for (const c of this.refs) c[i] = undefined as R;
    this.count_--;
  }

  /** Doubles the capacity and re-places every held slot. */
  private grow(): void {
    const oldSlots = this.slotOf;
    const oldNums = this.nums;
    const oldRefs = this.refs;
    const cap = oldSlots.length * 2;
    this.slotOf = new Float64Array(cap).fill(-1);
    this.mask = cap - 1;
    this.nums = oldNums.map(() => new Float64Array(cap));
    this.refs = oldRefs.map(() => new Array<R>(cap));
    for (let i = 0; i < oldSlots.length; i++) {
      const s = oldSlots[i] as number;
      if (s < 0) continue;
      const j = s & this.mask;
      this.slotOf[j] = s;
      for (let c = 0; c < oldNums.length; c++) (this.nums[c] as Float64Array)[j] = (oldNums[c] as Float64Array)[i] as number;
      for (let c = 0; c < oldRefs.length; c++) (this.refs[c] as R[])[j] = (oldRefs[c] as R[])[i] as R;
    }
  }
}
