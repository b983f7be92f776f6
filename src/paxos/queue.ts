/**
 * A FIFO of distinct keys with a payload each, in insertion order, with O(1)
 * add, has, get, delete and shift. The proposers' queues of values waiting for
 * a slot used a Map for this, but a Map that is shifted from the front and
 * iterated from the front walks the holes its deletions leave until it
 * rehashes: at a batching leader's rate that was a tenth of the profile.
 *
 * Order is exactly a Map's: a key deleted and added again goes to the back.
 * Keys and payloads sit in two arrays in queue order; `at` maps a live key to
 * its absolute position, so a deleted (or moved) entry is skipped when the
 * front reaches it. No object is allocated per entry.
 */
/** Drains between fresh Maps (each costs a small allocation; a drained queue drains again soon). */
const FRESH_EVERY = 64;

export class KeyedQueue<K, V> {
  private at = new Map<K, number>();
  private keys_: K[] = [];
  private values: V[] = [];
  /** Position of keys_[0] in the absolute numbering; the front is at `base + head`. */
  private base = 0;
  private head = 0;
  private drains = 0;

  get size(): number {
    return this.at.size;
  }

  has(key: K): boolean {
    return this.at.has(key);
  }

  get(key: K): V | undefined {
    const p = this.at.get(key);
    return p === undefined ? undefined : this.values[p - this.base];
  }

  /** Adds `key` at the back (moves it there if present, like Map after delete + set). */
  set(key: K, value: V): void {
    this.at.set(key, this.base + this.keys_.length);
    this.keys_.push(key);
    this.values.push(value);
  }

  delete(key: K): boolean {
    if (!this.at.delete(key)) return false;
    if (this.at.size === 0) this.clear();
    else if (this.keys_.length - this.head > 2 * this.at.size + 1024) this.rebuild();
    return true;
  }

  /** Removes and returns the front entry; throws when empty (callers check `size`). */
  shift(): [K, V] {
    const i = this.front();
    const value = this.values[i] as V;
    return [this.shiftKey(), value];
  }

  /** Removes the front entry and returns its key: no pair allocated (the leader takes every command this way). */
  shiftKey(): K {
    const i = this.front();
    if (i < 0) throw new Error('shift on an empty queue');
    const key = this.keys_[i] as K;
    this.head = i + 1;
    this.at.delete(key);
    if (this.at.size === 0) this.clear();
    else this.compact();
    return key;
  }

  /** The front key without removing it (undefined when empty). */
  peek(): K | undefined {
    const i = this.front();
    return i < 0 ? undefined : this.keys_[i];
  }

  clear(): void {
    // Only a Map that holds something is cleared (Map.clear reallocates its table: a queue that empties
    // after every slot paid for that); positions keep counting from where they were.
    if (this.at.size > 0) this.at.clear();
    // A drained queue starts a new Map now and then: V8 allocates a rehashed table in the generation of the
    // one it replaces, so once this Map's table was promoted, every later one would be old and each dead one
    // would keep its keys reachable to the scavenger (the leader's instances Map did that: see slot-map.ts).
    else if (++this.drains % FRESH_EVERY === 0) this.at = new Map();
    this.base += this.keys_.length;
    this.keys_.length = 0;
    this.values.length = 0;
    this.head = 0;
  }

  /** Keys in queue order. */
  *keys(): IterableIterator<K> {
    for (const [k] of this.ordered()) yield k;
  }

  /** [key, value] in queue order. */
  *ordered(): IterableIterator<[K, V]> {
    for (let i = this.head; i < this.keys_.length; i++) {
      const key = this.keys_[i] as K;
      if (this.at.get(key) === this.base + i) yield [key, this.values[i] as V];
    }
  }

  /** Index of the first live entry at or after the head (skipping stale ones for good), or -1. */
  private front(): number {
    while (this.head < this.keys_.length) {
      const key = this.keys_[this.head] as K;
      if (this.at.get(key) === this.base + this.head) return this.head;
      this.head++;
    }
    return -1;
  }

  /** Drops the consumed front of the arrays once it is most of them (amortized O(1)). */
  private compact(): void {
    if (this.head < 1024 || this.head * 2 < this.keys_.length) return;
    this.keys_ = this.keys_.slice(this.head);
    this.values = this.values.slice(this.head);
    this.base += this.head;
    this.head = 0;
  }

  /** Keeps the arrays within a constant factor of the live entries when keys are deleted rather than shifted. */
  private rebuild(): void {
    const live = [...this.ordered()];
    this.clear();
    for (const [k, v] of live) this.set(k, v);
  }
}
