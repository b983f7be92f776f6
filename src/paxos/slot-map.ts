/**
 * A map from slot to value for the few slots a role has in flight, kept in a
 * SlotWindow's cells instead of a JS Map.
 *
 * Why not a Map: V8 allocates a Map's rehashed table in the generation of the
 * table it replaces, so a long-lived Map whose table was once promoted puts
 * every later table in old space, and each dead old table keeps the entries it
 * held reachable to the scavenger until the next full collection. The stable
 * leader's Map of instances did exactly that: every instance and its value
 * outlived two scavenges, which copied and promoted about 1.4 MB each time
 * (2-3 ms per scavenge, every 17 ms, at window 64; docs/performance.md).
 * Cells are a plain array written and cleared in place: nothing is pinned.
 * The entries are also packed in a dense array, so min() (every turn) and the
 * ordered views cost the entries held, not the span of slots the cells cover.
 *
 * Iteration is in slot order, which for the stable leader is also the order
 * it added them (it starts slots in increasing order), so its behaviour and
 * fingerprint are those of the Map it replaces.
 */
import { SlotWindow } from './slot-window.js';
import type { Slot } from './messages.js';

/** The cells a SlotMap starts with (SlotWindow's default), and the least it shrinks back to. */
const INITIAL_CELLS = 64;
/** The cells' one numeric column: where the slot's entry is in `dense`. */
const POS = 0;

export class SlotMap<V> {
  /** Lookup by slot: each cell holds the value and its index in `dense`. */
  private cells = new SlotWindow<V>(1, 1, INITIAL_CELLS);
  /**
   * The entries packed (unordered; a delete moves the last one into the hole): min() and the ordered views read
   * these, so they cost the entries held even while the cells span many more slots (one slot undecided while the
   * window moved on grows the cells to that span).
   */
  private dense: V[] = [];
  private denseSlots: Slot[] = [];
  /** Deletes since the cells were last checked for shrinking. */
  private deletes = 0;

  get size(): number {
    return this.dense.length;
  }

  /**
   * Cells held (a power of two, at least the span of the slots held). Slots far apart grow it (a slot stuck
   * while the window moves on); deletes shrink it back once they are close again.
   */
  get capacity(): number {
    return (this.cells.refs[0] as V[]).length;
  }

  has(slot: Slot): boolean {
    return this.cells.cellOf(slot) >= 0;
  }

  get(slot: Slot): V | undefined {
    const c = this.cells.cellOf(slot);
    return c < 0 ? undefined : (this.cells.refs[0] as V[])[c];
  }

  set(slot: Slot, value: V): void {
    const held = this.cells.cellOf(slot);
    if (held >= 0) {
      (this.cells.refs[0] as V[])[held] = value;
      this.dense[(this.cells.nums[POS] as Float64Array)[held] as number] = value;
      return;
    }
    // Trusted: these are the role's own slots, never a peer's, so the window's span bound does not apply.
    const c = this.cells.claim(slot, true);
    (this.cells.refs[0] as V[])[c] = value;
    (this.cells.nums[POS] as Float64Array)[c] = this.dense.length;
    this.dense.push(value);
    this.denseSlots.push(slot);
  }

  delete(slot: Slot): boolean {
    const c = this.cells.cellOf(slot);
    if (c < 0) return false;
    const pos = this.cells.nums[POS] as Float64Array;
    const i = pos[c] as number;
    const last = this.dense.length - 1;
    if (i !== last) {
      const moved = this.denseSlots[last] as Slot;
      this.dense[i] = this.dense[last] as V;
      this.denseSlots[i] = moved;
      pos[this.cells.cellOf(moved)] = i;
    }
    this.dense.pop();
    this.denseSlots.pop();
    this.cells.release(slot);
    // Checked once every `capacity` deletes: amortized O(1) per delete.
    if (++this.deletes >= this.capacity && this.capacity > INITIAL_CELLS) this.shrink();
    return true;
  }

  clear(): void {
    if (this.capacity > INITIAL_CELLS) this.cells = new SlotWindow<V>(1, 1, INITIAL_CELLS);
    else for (const slot of this.denseSlots) this.cells.release(slot);
    this.dense = [];
    this.denseSlots = [];
  }

  /** Moves the entries into fewer cells when the slots held span a quarter of the cells or less (memory). */
  private shrink(): void {
    this.deletes = 0;
    let lo = Number.POSITIVE_INFINITY, hi = Number.NEGATIVE_INFINITY;
    for (const s of this.denseSlots) {
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
    let cells = INITIAL_CELLS;
    // Slots within `cells` of each other never share a cell: the copy below never grows.
    if (this.denseSlots.length > 0) while (cells < hi - lo + 1) cells *= 2;
    if (cells * 4 > this.capacity) return;
    const fresh = new SlotWindow<V>(1, 1, cells);
    const refs = fresh.refs[0] as V[];
    this.denseSlots.forEach((s, i) => {
      const c = fresh.claim(s, true);
      refs[c] = this.dense[i] as V;
      (fresh.nums[POS] as Float64Array)[c] = i;
    });
    this.cells = fresh;
  }

  /** The slots held, ascending. */
  keys(): Slot[] {
    return [...this.denseSlots].sort((a, b) => a - b);
  }

  /** The values, in slot order (allocates: not for every turn). */
  values(): V[] {
    return this.keys().map((s) => this.get(s) as V);
  }

  /** The least `key(value)` over the values, Infinity when empty; allocates nothing (it runs every turn). */
  min(key: (value: V) => number): number {
    let least = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.dense.length; i++) {
      const k = key(this.dense[i] as V);
      if (k < least) least = k;
    }
    return least;
  }
}
