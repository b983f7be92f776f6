/**
 * Exhaustive search over the model: breadth first (shortest counterexamples)
 * or depth first, with state hashing. Every generated state is checked against
 * the SafetyChecker's invariants ("always"); the "sometimes" properties record
 * the first (for BFS: shortest) path that reaches a witness.
 */
import type { Violation } from '../verify/invariants.js';
import { attemptIn, leadership } from '../paxos/introspect.js';
import type { Action, ModelConfig } from './model.js';
import { StateSpace, type StateView } from './explore.js';

export interface SearchOptions {
  order: 'bfs' | 'dfs';
  /** Stop (incomplete) after this many distinct states. */
  maxStates: number;
  /**
   * Bounded model checking: states at this depth are checked but not
   * expanded, so "complete" means every state reachable in at most this many
   * actions was visited. Breadth first only (BFS reaches each state first at
   * its least depth; DFS with state hashing would not).
   */
  maxDepth?: number;
  /** Called on every admitted state (tests). */
  onState?: (s: StateView) => void;
  /** Called every 1,000,000 generated states (long runs: the CLI's --progress). */
  progress?: (p: { generated: number; distinct: number; queued: number; depth: number; elapsed_ms: number }) => void;
}

export interface Witness {
  name: string;
  about: string;
  /** The path to the first witness found, or null if none is reachable (within the bounds). */
  path: Action[] | null;
}

export interface CheckResult {
  config: ModelConfig;
  order: 'bfs' | 'dfs';
  generated: number;
  distinct: number;
  /** States beyond maxRound: checked, not expanded. */
  pruned: number;
  /** States at the depth bound (SearchOptions.maxDepth): checked, not expanded. */
  atDepthBound: number;
  /**
   * BFS: every state reachable in at most this many actions was visited (and
   * checked), even when the search stopped early. DFS: -1 unless complete.
   */
  completeDepth: number;
  /** New states not admitted: a repeat of an admitted state, or (with the reductions) covered by one, same control part and a larger network. */
  covered: number;
  maxDepth: number;
  elapsed_ms: number;
  /** False if the search stopped at maxStates or at a violation. */
  complete: boolean;
  violation: { violations: Violation[]; path: Action[] } | null;
  sometimes: Witness[];
  /** Distinct node states, node transitions (each one run of the real core), ghosts and messages the search interned. */
  tables: { nodeStates: number; transitions: number; ghosts: number; envelopes: number };
}

interface Sometimes {
  name: string;
  about: string;
  /** Whether the property is meaningful for the configuration (some are about one family of policies). */
  applies: (cfg: ModelConfig) => boolean;
  test: (s: StateView, cfg: ModelConfig) => boolean;
}

const elected = (cfg: ModelConfig): boolean => cfg.policy.name === 'leader' || cfg.policy.name === 'lease';

/** The properties that must be reachable: the search shows the protocol can make progress, and can duel. */
export const SOMETIMES: readonly Sometimes[] = [
  { name: 'value-chosen', about: 'a value can be chosen', applies: () => true, test: (s) => s.ghost.chosenCount > 0 },
  {
    name: 'phase1-duel',
    about: 'nothing chosen, every proposer was pre-empted and is on a later ballot, none in phase 2',
    applies: (cfg) => !elected(cfg) && cfg.proposers >= 2,
    test: duel,
  },
  {
    name: 'leader-duel',
    about: 'nothing chosen, two nodes believe they lead (each preparing or leading)',
    applies: elected,
    test: (s, cfg) => {
      if (s.ghost.chosenCount > 0) return false;
      let leaders = 0;
      for (let id = 0; id < cfg.replicas; id++) if (leadership(s.replica(id)) !== 'idle') leaders++;
      return leaders >= 2;
    },
  },
  {
    name: 'lease-held',
    about: 'a leader holds a valid lease',
    applies: (cfg) => cfg.policy.name === 'lease',
    test: (s, cfg) => {
      for (let id = 0; id < cfg.replicas; id++) if (s.replica(id).leaseValid(s.clock(id))) return true;
      return false;
    },
  },
];

/**
 * The seed's contention scenario: each proposer lost phase 1 at least once and
 * had to retry with a higher ballot, none has reached phase 2, and nothing is
 * chosen. (With the immediate policy a pre-empted proposer retries in the same
 * step, so "must retry" shows as "has retried".)
 */
function duel(s: StateView, cfg: ModelConfig): boolean {
  if (s.ghost.chosenCount > 0 || cfg.proposers < 2) return false;
  for (let p = 0; p < cfg.proposers; p++) {
    const at = attemptIn(s.replica(p), 0);
    if (at === null || at.phase === 'accept' || at.ballots < 2) return false;
  }
  return true;
}

/**
 * Multiset inclusion of two sorted networks, the part of a state string from
 * `from` on (one char per envelope id): every message of `small` is in `big`, as often.
 */
function includes(big: string, small: string, from: number): boolean {
  if (small.length > big.length) return false;
  let j = from;
  for (let i = from; i < small.length; i++) {
    const x = small.charCodeAt(i);
    while (j < big.length && big.charCodeAt(j) < x) j++;
    if (j >= big.length || big.charCodeAt(j) !== x) return false;
    j++;
  }
  return true;
}

/**
 * A string-keyed map split over 64 Maps: one V8 Map or Set holds at most 2^24
 * entries, which a long search passes (it stopped with "Set maximum size
 * exceeded" at about 16.7 million states).
 */
class ShardedMap<V> {
  private readonly shards = Array.from({ length: 64 }, () => new Map<string, V>());

  private shard(key: string): Map<string, V> {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
    return this.shards[h & 63] as Map<string, V>;
  }

  get(key: string): V | undefined {
    return this.shard(key).get(key);
  }

  has(key: string): boolean {
    return this.shard(key).has(key);
  }

  set(key: string, value: V): void {
    this.shard(key).set(key, value);
  }
}

/** A growable Int32 column (per admitted state: parent, action code, depth), compact for tens of millions of states. */
class Column {
  private a = new Int32Array(1 << 16);
  length = 0;
  push(x: number): void {
    if (this.length === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = x;
  }
  at(i: number): number {
    return this.a[i] ?? -1;
  }
}

export function check(cfg: ModelConfig, opts: SearchOptions): CheckResult {
  const t0 = performance.now();
  if (opts.maxDepth !== undefined && opts.order !== 'bfs') throw new RangeError('a depth bound needs breadth-first search');
  const depthBound = opts.maxDepth ?? Number.POSITIVE_INFINITY;
  let atDepthBound = 0;
  let expanding = 0; // BFS: the depth of the state being expanded; every state at that depth or less is admitted
  const space = new StateSpace(cfg);
  const L = space.controlLength;
  // Per admitted state: its parent's index and the action code from it (the search tree, for paths).
  const parent = new Column();
  const via = new Column();
  const depthOf = new Column();
  const properties = SOMETIMES.filter((p) => p.applies(cfg));
  const witnesses: Witness[] = properties.map((p) => ({ name: p.name, about: p.about, path: null }));
  let generated = 0;
  let pruned = 0;
  let maxDepth = 0;
  let covered = 0;
  let violation: CheckResult['violation'] = null;

  const pathTo = (id: number, last: number | null): Action[] => {
    const codes: number[] = last === null ? [] : [last];
    for (let i = id; i > 0; i = parent.at(i)) codes.push(via.at(i));
    return codes.reverse().map((c) => space.action(c));
  };

  // With the reductions on (covering): per control part, the networks of admitted states as an antichain
  // of maximal ones (one state string each). Plain (--no-reduce): exact state strings.
  const subsume = cfg.reduce ?? true;
  const groups = new ShardedMap<string | string[]>();
  // Admitted state strings: a repeat of one (the common case: diamonds of commuting steps) is rejected without a scan.
  const seen = new ShardedMap<true>();
  /** True if the state is new (not covered by an admitted one); records it. */
  const fresh = (s: string): boolean => {
    if (!subsume) {
      if (seen.has(s)) {
        covered++;
        return false;
      }
      seen.set(s, true);
      return true;
    }
    if (seen.has(s)) {
      covered++;
      return false;
    }
    const key = s.slice(0, L);
    const list = groups.get(key);
    if (list === undefined) {
      groups.set(key, s);
      seen.set(s, true);
      return true;
    }
    // The antichain is kept longest network first: only a network at least as long can cover.
    const arr = typeof list === 'string' ? [list] : list;
    let at = 0;
    for (; at < arr.length; at++) {
      const other = arr[at] as string;
      if (other.length < s.length) break;
      if (includes(other, s, L)) {
        covered++;
        return false;
      }
    }
    // Keep only maximal networks: one the new state covers can prune nothing the new one cannot.
    const kept = arr.slice(0, at);
    kept.push(s);
    for (let i = at; i < arr.length; i++) {
      const other = arr[i] as string;
      if (!includes(s, other, L)) kept.push(other);
    }
    groups.set(key, kept.length === 1 ? s : kept);
    seen.set(s, true);
    return true;
  };

  const admit = (s: string, from: number, code: number, depth: number): number => {
    if (!fresh(s)) return -1;
    const id = parent.length;
    parent.push(from);
    via.push(code);
    depthOf.push(depth);
    if (depth > maxDepth) maxDepth = depth;
    if (opts.onState !== undefined || witnesses.some((w) => w.path === null)) {
      const v = space.view(s);
      opts.onState?.(v);
      for (let i = 0; i < properties.length; i++) {
        const w = witnesses[i];
        const p = properties[i];
        if (w !== undefined && p !== undefined && w.path === null && p.test(v, cfg)) w.path = pathTo(id, null);
      }
    }
    return id;
  };

  const init = space.initial();
  generated++;
  // Frontier: state strings and their ids, a queue (BFS) or a stack (DFS).
  const queue: Array<string | undefined> = [];
  const queueIds: number[] = [];
  let head = 0;
  if (init.violations !== null) violation = { violations: init.violations, path: [] };
  else {
    queue.push(init.state);
    queueIds.push(admit(init.state, -1, -1, 0));
  }
  while (violation === null && parent.length < opts.maxStates) {
    let s: string | undefined;
    let id: number;
    if (opts.order === 'bfs') {
      if (head >= queue.length) break;
      s = queue[head];
      id = queueIds[head] ?? 0;
      queue[head++] = undefined; // expanded states are garbage
      if (head > 65_536 && head * 2 > queue.length) {
        queue.splice(0, head); // keep the queue's memory bounded by its live part
        queueIds.splice(0, head);
        head = 0;
      }
    } else {
      s = queue.pop();
      id = queueIds.pop() ?? 0;
    }
    if (s === undefined) break;
    const depth = depthOf.at(id) + 1;
    expanding = depth - 1;
    if (depth > depthBound) {
      atDepthBound++;
      continue;
    }
    const from = id;
    space.successors(s, (succ) => {
      generated++;
      if (opts.progress !== undefined && generated % 1_000_000 === 0) {
        opts.progress({ generated, distinct: parent.length, queued: queue.length - head, depth, elapsed_ms: performance.now() - t0 });
      }
      if (succ.violations !== null) {
        violation = { violations: succ.violations, path: pathTo(from, succ.code) };
        return true;
      }
      if (succ.outOfBound || succ.state === null) {
        pruned++;
        return false;
      }
      const nid = admit(succ.state, from, succ.code, depth);
      if (nid >= 0) {
        queue.push(succ.state);
        queueIds.push(nid);
      }
      return parent.length >= opts.maxStates;
    });
  }
  let exhausted = opts.order === 'bfs' ? head >= queue.length : queue.length === 0;
  if (!exhausted && violation === null && opts.order === 'bfs' && Number.isFinite(depthBound)) {
    // Stopped by maxStates with only states at the depth bound left: those would not be expanded anyway.
    exhausted = true;
    for (let i = head; i < queueIds.length && exhausted; i++) if (depthOf.at(queueIds[i] ?? 0) < depthBound) exhausted = false;
  }
  const complete = violation === null && exhausted;
  // Stopped early in BFS while expanding depth k: all of depth <= k was generated by the finished level k - 1.
  const completeDepth = complete ? Math.min(maxDepth, depthBound) : opts.order === 'bfs' ? expanding : -1;
  return {
    config: cfg,
    order: opts.order,
    generated,
    distinct: parent.length,
    covered,
    pruned,
    atDepthBound,
    maxDepth,
    elapsed_ms: performance.now() - t0,
    complete,
    completeDepth,
    violation,
    sometimes: witnesses,
    tables: space.tables,
  };
}
