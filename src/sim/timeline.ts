/**
 * The simulator's event queue: a binary min-heap ordered by (time, insertion
 * order), kept as parallel arrays (times in a Float64Array, sequence numbers,
 * items), so a push allocates nothing beyond its item and the comparisons
 * read only typed numbers whatever the item's shape. Ties pop in insertion
 * order, which keeps runs deterministic. (src/base/event-queue.ts serves the
 * fault transport; this one is the simulator's hot path.)
 */
export class Timeline<T> {
  private at = new Float64Array(1024);
  private seq = new Float64Array(1024);
  private items: Array<T | undefined> = [];
  private n = 0;
  private nextSeq = 0;
  /** The time of the item the last pop returned. */
  time = 0;

  get size(): number {
    return this.n;
  }

  push(at: number, item: T): void {
    if (this.n === this.at.length) this.grow();
    const s = this.nextSeq++;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pa = this.at[p] as number;
      if (pa < at || (pa === at && (this.seq[p] as number) < s)) break;
      this.move(p, i);
      i = p;
    }
    this.at[i] = at;
    this.seq[i] = s;
    this.items[i] = item;
  }

  /** The earliest item (its time in `time`), or undefined when empty. */
  pop(): T | undefined {
    if (this.n === 0) return undefined;
    const top = this.items[0];
    this.time = this.at[0] as number;
    const last = --this.n;
    const at = this.at[last] as number;
    const s = this.seq[last] as number;
    const item = this.items[last];
    this.items[last] = undefined;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= last) break;
      if (c + 1 < last && this.less(c + 1, c)) c++;
      const ca = this.at[c] as number;
      if (ca > at || (ca === at && (this.seq[c] as number) > s)) break;
      this.move(c, i);
      i = c;
    }
    if (last > 0) {
      this.at[i] = at;
      this.seq[i] = s;
      this.items[i] = item;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.at[a] as number;
    const y = this.at[b] as number;
    return x < y || (x === y && (this.seq[a] as number) < (this.seq[b] as number));
  }

  private move(from: number, to: number): void {
    this.at[to] = this.at[from] as number;
    this.seq[to] = this.seq[from] as number;
    this.items[to] = this.items[from];
  }

  private grow(): void {
    const at = new Float64Array(this.at.length * 2);
    at.set(this.at);
    this.at = at;
    const seq = new Float64Array(this.seq.length * 2);
    seq.set(this.seq);
    this.seq = seq;
  }
}
