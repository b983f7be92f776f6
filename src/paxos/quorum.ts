/**
 * Counts distinct voters toward a quorum. One job: "won yet?".
 * A majority of `nodes` is floor(nodes / 2) + 1: any two majorities intersect.
 */
import type { NodeId } from './ballot.js';

export function majority(nodes: number): number {
  return Math.floor(nodes / 2) + 1;
}

export class QuorumCounter {
  private readonly voters = new Set<NodeId>();

  constructor(readonly needed: number) {}

  /** Adds a vote (duplicates count once); returns true exactly when this vote completes the quorum. */
  add(from: NodeId): boolean {
    const before = this.voters.size;
    this.voters.add(from);
    return before < this.needed && this.voters.size === this.needed;
  }

  get count(): number {
    return this.voters.size;
  }

  has(from: NodeId): boolean {
    return this.voters.has(from);
  }

  reset(): void {
    this.voters.clear();
  }

  /** Model checking: the voters, sorted (a Set's order never affects behaviour). */
  fingerprint(): string {
    return [...this.voters].sort((a, b) => a - b).join(',');
  }
}
