/**
 * Counts distinct voters toward a quorum. One job: "won yet?".
 * A majority of `nodes` is floor(nodes / 2) + 1: any two majorities intersect.
 */
import type { NodeId } from './ballot.js';

export function majority(nodes: number): number {
  return Math.floor(nodes / 2) + 1;
}

/** Node ids below this are counted in a bitmask (no Set allocated per attempt: the hot path makes two counters per slot). */
const MASK_IDS = 31;

export class QuorumCounter {
  private mask = 0;
  private maskCount = 0;
  /** Voters with ids >= MASK_IDS, only for clusters that large. */
  private more: Set<NodeId> | null = null;

  constructor(readonly needed: number) {}

  /** Adds a vote (duplicates count once); returns true exactly when this vote completes the quorum. */
  add(from: NodeId): boolean {
    const before = this.count;
    if (from < MASK_IDS) {
      const bit = 1 << from;
      if ((this.mask & bit) !== 0) return false;
      this.mask |= bit;
      this.maskCount++;
    } else {
      this.more ??= new Set<NodeId>();
      if (this.more.has(from)) return false;
      this.more.add(from);
    }
    return before < this.needed && before + 1 === this.needed;
  }

  get count(): number {
    return this.maskCount + (this.more === null ? 0 : this.more.size);
  }

  has(from: NodeId): boolean {
    return from < MASK_IDS ? (this.mask & (1 << from)) !== 0 : this.more !== null && this.more.has(from);
  }

  reset(): void {
    this.mask = 0;
    this.maskCount = 0;
    this.more?.clear();
  }

  /** Model checking: the voters, sorted (a Set's order never affects behaviour). */
  fingerprint(): string {
    const ids: NodeId[] = [];
    for (let i = 0; i < MASK_IDS; i++) if ((this.mask & (1 << i)) !== 0) ids.push(i);
    if (this.more !== null) for (const id of [...this.more].sort((a, b) => a - b)) ids.push(id);
    return ids.join(',');
  }
}
