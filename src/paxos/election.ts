/**
 * Omega failure detector: the leader is the smallest candidate id heard from
 * within the timeout (a candidate always hears itself). Candidates are the
 * acceptors (ids 0 .. candidates - 1): a proposer-only node never leads, and
 * knows no leader (-1) until it hears from a candidate. Each node draws its own timeout in
 * [timeout_ms, 2 * timeout_ms) so suspicions do not flip on all nodes at once.
 * Eventually, with a calm network, every node trusts the same live node.
 */
import type { NodeId } from './ballot.js';
import type { ElectionParams } from './policy.js';

export class Omega {
  private readonly lastHeard_ms: number[];
  private readonly timeout_ms: number;

  constructor(
    private readonly self: NodeId,
    candidates: number,
    params: ElectionParams,
    random: () => number,
    startedAt_ms: number,
  ) {
    // Everyone counts as alive at start, so the cluster settles on node 0 instead of all nodes leading at once.
    this.lastHeard_ms = new Array<number>(candidates).fill(startedAt_ms);
    this.timeout_ms = params.timeout_ms * (1 + random());
  }

  heard(from: NodeId, now_ms: number): void {
    if (from >= 0 && from < this.lastHeard_ms.length) this.lastHeard_ms[from] = now_ms;
  }

  leader(now_ms: number): NodeId {
    for (let i = 0; i < this.lastHeard_ms.length; i++) {
      if (i === this.self) return i;
      if (now_ms - (this.lastHeard_ms[i] ?? Number.NEGATIVE_INFINITY) < this.timeout_ms) return i;
    }
    return this.self < this.lastHeard_ms.length ? this.self : -1;
  }

  /**
   * Model checking: canonical state, times relative to `now_ms` (the core only
   * compares times). A peer silent for the timeout or longer is written as
   * exactly the timeout: `leader` only asks whether the silence is below it,
   * and a silence only grows until the peer is heard again (which overwrites
   * it), so all such values behave alike; without the clamp a silent peer would
   * make the state space infinite. Only peers below this node's id are
   * written: `leader` returns at its own id before reading any later entry.
   */
  fingerprint(now_ms: number): string {
    return `${this.timeout_ms}|${this.lastHeard_ms.slice(0, Math.min(this.self, this.lastHeard_ms.length)).map((t) => Math.max(t - now_ms, -this.timeout_ms)).join(',')}`;
  }
}
