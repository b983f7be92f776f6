/**
 * The applier's dedupe window as it was at a snapshot point, read a piece at
 * a time while applying goes on: copy on write. The window is a ring of
 * request ids, oldest evicted first, so every eviction after the capture
 * removes the capture's oldest entry not yet removed: entry 0, then 1, and so
 * on. Each one not read yet is saved as it is evicted; every other entry is
 * still in the ring, where the capture left it. Capturing costs nothing, and
 * the saved entries are at most the entries evicted before they were read.
 */
export type WindowEntry = readonly [id: string, slot: number, result: string | undefined];

export class WindowCapture {
  /** Entries read so far (in capture order, oldest first). */
  private readCount = 0;
  /** Entries evicted from the ring since the capture. */
  private evictions = 0;
  /** Evicted entries not read yet, by capture index. */
  private readonly saved = new Map<number, WindowEntry>();

  constructor(
    /** Entries in the window at the capture. */
    readonly size: number,
    /** The ring position of the oldest entry, and the ring's full width. */
    private readonly start: number,
    private readonly width: number,
    private readonly ring: readonly string[],
    private readonly lookup: (id: string) => WindowEntry,
  ) {}

  /** The applier evicts the window's oldest entry (call before it is overwritten or forgotten). */
  evicting(entry: WindowEntry): void {
    const k = this.evictions++;
    if (k < this.size && k >= this.readCount) this.saved.set(k, entry);
  }

  get done(): boolean {
    return this.readCount >= this.size;
  }

  /** The next entry, oldest first (call while not done). */
  next(): WindowEntry {
    const k = this.readCount++;
    const saved = this.saved.get(k);
    if (saved !== undefined) {
      this.saved.delete(k);
      return saved;
    }
    return this.lookup(this.ring[(this.start + k) % this.width] as string);
  }
}
