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

/**
 * Admitted states. With the reductions on (covering): per control part, the
 * networks of admitted states as an antichain of maximal ones (one state
 * string each), so a state whose network another admitted state's contains is
 * covered. Plain (--no-reduce): exact state strings.
 */
class Admitted {
  covered = 0;
  private readonly groups = new ShardedMap<string | string[]>();
  /** Admitted state strings: a repeat of one (the common case: diamonds of commuting steps) is rejected without a scan. */
  private readonly seen = new ShardedMap<true>();

  constructor(
    private readonly subsume: boolean,
    private readonly controlLength: number,
  ) {}

  /** True if `s` is new (not covered by an admitted state); records it. */
  fresh(s: string): boolean {
    if (this.seen.has(s)) {
      this.covered++;
      return false;
    }
    if (this.subsume && !this.joinAntichain(s)) {
      this.covered++;
      return false;
    }
    this.seen.set(s, true);
    return true;
  }

  /** False if an admitted network covers `s`; else puts `s` among the maximal networks of its control part. */
  private joinAntichain(s: string): boolean {
    const L = this.controlLength;
    const key = s.slice(0, L);
    const list = this.groups.get(key);
    if (list === undefined) {
      this.groups.set(key, s);
      return true;
    }
    // The antichain is kept longest network first: only a network at least as long can cover.
    const arr = typeof list === 'string' ? [list] : list;
    let at = 0;
    for (; at < arr.length; at++) {
      const other = arr[at] as string;
      if (other.length < s.length) break;
      if (includes(other, s, L)) return false;
    }
    // Keep only maximal networks: one the new state covers can prune nothing the new one cannot.
    const kept = arr.slice(0, at);
    kept.push(s);
    for (let i = at; i < arr.length; i++) {
      const other = arr[i] as string;
      if (!includes(s, other, L)) kept.push(other);
    }
    this.groups.set(key, kept.length === 1 ? s : kept);
    return true;
  }
}

/** States waiting to be expanded with their ids: a queue (BFS) or a stack (DFS). */
class Frontier {
  private readonly states: Array<string | undefined> = [];
  readonly ids: number[] = [];
  head = 0;

  constructor(private readonly bfs: boolean) {}

  push(s: string, id: number): void {
    this.states.push(s);
    this.ids.push(id);
  }

  get queued(): number {
    return this.states.length - this.head;
  }

  get empty(): boolean {
    return this.bfs ? this.head >= this.states.length : this.states.length === 0;
  }

  /** The next state to expand, or null. */
  take(): { s: string; id: number } | null {
    if (!this.bfs) {
      const s = this.states.pop();
      const id = this.ids.pop() ?? 0;
      return s === undefined ? null : { s, id };
    }
    if (this.head >= this.states.length) return null;
    const s = this.states[this.head];
    const id = this.ids[this.head] ?? 0;
    this.states[this.head++] = undefined; // expanded states are garbage
    if (this.head > 65_536 && this.head * 2 > this.states.length) {
      this.states.splice(0, this.head); // keep the queue's memory bounded by its live part
      this.ids.splice(0, this.head);
      this.head = 0;
    }
    return s === undefined ? null : { s, id };
  }
}

/** One search: the tree of admitted states (parent, action, depth per id), the frontier and the witnesses. */
class Search {
  readonly t0 = performance.now();
  readonly space: StateSpace;
  readonly depthBound: number;
  atDepthBound = 0;
  /** BFS: the depth of the state being expanded; every state at that depth or less is admitted. */
  expanding = 0;
  generated = 0;
  pruned = 0;
  maxDepth = 0;
  violation: CheckResult['violation'] = null;
  readonly parent = new Column();
  readonly via = new Column();
  readonly depthOf = new Column();
  readonly properties: typeof SOMETIMES;
  readonly witnesses: Witness[];
  readonly admitted: Admitted;
  readonly frontier: Frontier;

  constructor(
    readonly cfg: ModelConfig,
    readonly opts: SearchOptions,
  ) {
    if (opts.maxDepth !== undefined && opts.order !== 'bfs') throw new RangeError('a depth bound needs breadth-first search');
    this.depthBound = opts.maxDepth ?? Number.POSITIVE_INFINITY;
    this.space = new StateSpace(cfg);
    this.properties = SOMETIMES.filter((p) => p.applies(cfg));
    this.witnesses = this.properties.map((p) => ({ name: p.name, about: p.about, path: null }));
    this.admitted = new Admitted(cfg.reduce ?? true, this.space.controlLength);
    this.frontier = new Frontier(opts.order === 'bfs');
  }

  pathTo(id: number, last: number | null): Action[] {
    const codes: number[] = last === null ? [] : [last];
    for (let i = id; i > 0; i = this.parent.at(i)) codes.push(this.via.at(i));
    return codes.reverse().map((c) => this.space.action(c));
  }

  /** Admits `s` if fresh (recording how it was reached and the witnesses it completes); its id, or -1. */
  admit(s: string, from: number, code: number, depth: number): number {
    if (!this.admitted.fresh(s)) return -1;
    const id = this.parent.length;
    this.parent.push(from);
    this.via.push(code);
    this.depthOf.push(depth);
    if (depth > this.maxDepth) this.maxDepth = depth;
    if (this.opts.onState !== undefined || this.witnesses.some((w) => w.path === null)) {
      const v = this.space.view(s);
      this.opts.onState?.(v);
      for (let i = 0; i < this.properties.length; i++) {
        const w = this.witnesses[i];
        const p = this.properties[i];
        if (w !== undefined && p !== undefined && w.path === null && p.test(v, this.cfg)) w.path = this.pathTo(id, null);
      }
    }
    return id;
  }

  start(): void {
    const init = this.space.initial();
    this.generated++;
    if (init.violations !== null) this.violation = { violations: init.violations, path: [] };
    else this.frontier.push(init.state, this.admit(init.state, -1, -1, 0));
  }

  /** Expands one state; false when there is nothing left to expand. */
  step(): boolean {
    const next = this.frontier.take();
    if (next === null) return false;
    const depth = this.depthOf.at(next.id) + 1;
    this.expanding = depth - 1;
    if (depth > this.depthBound) {
      this.atDepthBound++;
      return true;
    }
    this.space.successors(next.s, (succ) => {
      this.generated++;
      if (this.opts.progress !== undefined && this.generated % 1_000_000 === 0) {
        this.opts.progress({ generated: this.generated, distinct: this.parent.length, queued: this.frontier.queued, depth, elapsed_ms: performance.now() - this.t0 });
      }
      if (succ.violations !== null) {
        this.violation = { violations: succ.violations, path: this.pathTo(next.id, succ.code) };
        return true;
      }
      if (succ.outOfBound || succ.state === null) {
        this.pruned++;
        return false;
      }
      const nid = this.admit(succ.state, next.id, succ.code, depth);
      if (nid >= 0) this.frontier.push(succ.state, nid);
      return this.parent.length >= this.opts.maxStates;
    });
    return true;
  }

  /** True if nothing is left to expand (a depth-bounded BFS stopped early with only at-bound states left counts). */
  exhausted(): boolean {
    if (this.frontier.empty) return true;
    if (this.violation !== null || this.opts.order !== 'bfs' || !Number.isFinite(this.depthBound)) return false;
    // Stopped by maxStates with only states at the depth bound left: those would not be expanded anyway.
    const ids = this.frontier.ids;
    for (let i = this.frontier.head; i < ids.length; i++) if (this.depthOf.at(ids[i] ?? 0) < this.depthBound) return false;
    return true;
  }

  result(): CheckResult {
    const complete = this.violation === null && this.exhausted();
    // Stopped early in BFS while expanding depth k: all of depth <= k was generated by the finished level k - 1.
    const completeDepth = complete ? Math.min(this.maxDepth, this.depthBound) : this.opts.order === 'bfs' ? this.expanding : -1;
    return {
      config: this.cfg, order: this.opts.order, generated: this.generated, distinct: this.parent.length, covered: this.admitted.covered,
      pruned: this.pruned, atDepthBound: this.atDepthBound, maxDepth: this.maxDepth, elapsed_ms: performance.now() - this.t0,
      complete, completeDepth, violation: this.violation, sometimes: this.witnesses, tables: this.space.tables,
    };
  }
}

export function check(cfg: ModelConfig, opts: SearchOptions): CheckResult {
  const search = new Search(cfg, opts);
  search.start();
  while (search.violation === null && search.parent.length < opts.maxStates && search.step()) {
    // each step expands one state
  }
  return search.result();
}
