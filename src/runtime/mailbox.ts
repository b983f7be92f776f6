/**
 * A bounded FIFO of (sender, raw message) pairs: two parallel ring arrays, no
 * object or promise per message. The actor drains it in batches, run to
 * completion. When full, `push` refuses: the caller counts a drop (Paxos
 * tolerates lost messages; hiding overload in an unbounded queue it does not).
 */
export class Mailbox {
  private readonly from: Int32Array;
  private readonly items: unknown[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
    this.from = new Int32Array(capacity);
    this.items = new Array<unknown>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  push(from: number, item: unknown): boolean {
    if (this.count === this.capacity) return false;
    const i = (this.head + this.count) % this.capacity;
    this.from[i] = from;
    this.items[i] = item;
    this.count++;
    return true;
  }

  /** Hands at most `max` items to `fn` in FIFO order; returns how many. */
  drain(max: number, fn: (from: number, item: unknown) => void): number {
    const n = Math.min(max, this.count);
    for (let k = 0; k < n; k++) {
      const i = this.head;
      const item = this.items[i];
      this.items[i] = undefined;
      this.head = (i + 1) % this.capacity;
      this.count--;
      fn(this.from[i] ?? -1, item);
    }
    return n;
  }
}
