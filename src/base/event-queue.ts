/**
 * A binary min-heap of timed items by (time, sequence): ties break by insertion
 * order, so runs are deterministic. The simulator's event queue, and the chaos
 * layer's queue of delayed messages.
 */
export interface Timed {
  at: number;
  seq: number;
}

/** Omit that distributes over a union, so each event variant keeps its own fields. */
export type WithoutSeq<E> = E extends unknown ? Omit<E, 'seq'> : never;

export class EventQueue<E extends Timed> {
  private readonly heap: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(e: WithoutSeq<E>): void {
    const item = { ...e, seq: this.nextSeq++ } as E;
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as E;
      if (!less(item, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = item;
  }

  /** The earliest item, left in place. */
  peek(): E | undefined {
    return this.heap[0];
  }

  clear(): void {
    this.heap.length = 0;
  }

  pop(): E | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && less(h[r] as E, h[l] as E) ? r : l;
      if (!less(h[c] as E, last)) break;
      h[i] = h[c] as E;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

function less(a: Timed, b: Timed): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
