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
 *
 * Iteration is in slot order, which for the stable leader is also the order
 * it added them (it starts slots in increasing order), so its behaviour and
 * fingerprint are those of the Map it replaces.
 */
import { SlotWindow } from './slot-window.js';
import type { Slot } from './messages.js';

/** The cells a SlotMap starts with (SlotWindow's default), and the least it shrinks back to. */
const INITIAL_CELLS = 64;

export class SlotMap<V> {
  private cells = new SlotWindow<V>(0, 1, INITIAL_CELLS);
  /** Deletes since the cells were last checked for shrinking. */
  private deletes = 0;

  get size(): number {
    return this.cells.size;
  }

  /**
   * Cells held (a power of two, at least the span of the slots held): min() and keys() cost this much.
   * Slots far apart grow it (a slot stuck while the window moves on); deletes shrink it back once they are close again.
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
    // Trusted: these are the role's own slots, never a peer's, so the window's span bound does not apply.
    const c = this.cells.claim(slot, true);
    (this.cells.refs[0] as V[])[c] = value;
  }

  delete(slot: Slot): boolean {
    if (this.cells.cellOf(slot) < 0) return false;
    this.cells.release(slot);
    // Checked once every `capacity` deletes: amortized O(1) per delete.
    if (++this.deletes >= this.capacity && this.capacity > INITIAL_CELLS) this.shrink();
    return true;
  }

  clear(): void {
    if (this.capacity > INITIAL_CELLS) this.cells = new SlotWindow<V>(0, 1, INITIAL_CELLS);
    else for (const slot of this.cells.slots()) this.cells.release(slot);
  }

  /**
   * Moves the values into fewer cells when the slots held span a quarter of the cells or less: a window that
   * once spanned thousands of slots (one slot undecided for a while) would otherwise cost min() and keys() a
   * scan of every cell on each turn for ever, where the Map it replaced cost the entries held.
   */
  private shrink(): void {
    this.deletes = 0;
    const slots = this.cells.slots();
    let cells = INITIAL_CELLS;
    // Slots within `cells` of each other never share a cell: the copy below never grows.
    if (slots.length > 0) while (cells < (slots[slots.length - 1] as Slot) - (slots[0] as Slot) + 1) cells *= 2;
    if (cells * 4 > this.capacity) return;
    const fresh = new SlotWindow<V>(0, 1, cells);
    const from = this.cells.refs[0] as V[];
    const to = fresh.refs[0] as V[];
    for (const s of slots) to[fresh.claim(s, true)] = from[this.cells.cellOf(s)] as V;
    this.cells = fresh;
  }

  /** The slots held, ascending. */
  keys(): Slot[] {
    return this.cells.slots();
  }

  /** The values, in slot order (allocates: not for every turn). */
  values(): V[] {
    const values = this.cells.refs[0] as V[];
    return this.cells.slots().map((s) => values[this.cells.cellOf(s)] as V);
  }

  /** The least `key(value)` over the values, Infinity when empty; allocates nothing (it runs every turn). */
  min(key: (value: V) => number): number {
    let least = Number.POSITIVE_INFINITY;
    if (this.cells.size === 0) return least;
    const values = this.cells.refs[0] as V[];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === undefined) continue;
      const k = key(v);
      if (k < least) least = k;
    }
    return least;
  }
}
