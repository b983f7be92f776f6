/**
 * Exhaustive search over the model: breadth first (shortest counterexamples)
 * or depth first, with state hashing. Every generated state is checked against
 * the SafetyChecker's invariants ("always"); the "sometimes" properties record
 * the first (for BFS: shortest) path that reaches a witness.
 */
import { createHash } from 'node:crypto';
import type { Violation } from '../sim/invariants.js';
import { Model, type Action, type ModelConfig, type State } from './model.js';

export interface SearchOptions {
  order: 'bfs' | 'dfs';
  /** Stop (incomplete) after this many distinct states. */
  maxStates: number;
  /** Called on every admitted state (tests). */
  onState?: (m: Model, s: State) => void;
  /** Called every 100,000 generated states (long runs: the CLI's --progress). */
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
  /** New states not admitted because an admitted state with the same control part had a superset network. */
  covered: number;
  maxDepth: number;
  elapsed_ms: number;
  /** False if the search stopped at maxStates or at a violation. */
  complete: boolean;
  violation: { violations: Violation[]; path: Action[] } | null;
  sometimes: Witness[];
}

interface Sometimes {
  name: string;
  about: string;
  test: (m: Model, s: State) => boolean;
}

/** The properties that must be reachable: the search shows the protocol can make progress, and can duel. */
export const SOMETIMES: readonly Sometimes[] = [
  { name: 'value-chosen', about: 'a value can be chosen', test: (_m, s) => s.ghost.chosenCount > 0 },
  {
    name: 'phase1-duel',
    about: 'nothing chosen, every proposer was pre-empted and is on a later ballot, none in phase 2',
    test: (m, s) => duel(m, s),
  },
];

/**
 * The seed's contention scenario: each proposer lost phase 1 at least once and
 * had to retry with a higher ballot, none has reached phase 2, and nothing is
 * chosen. (With the immediate policy a pre-empted proposer retries in the same
 * step, so "must retry" shows as "has retried".)
 */
function duel(m: Model, s: State): boolean {
  if (s.ghost.chosenCount > 0 || m.cfg.proposers < 2) return false;
  for (let p = 0; p < m.cfg.proposers; p++) {
    const at = m.replica(s, p).attemptIn(0);
    if (at === null || at.phase === 'accept' || at.ballots < 2) return false;
  }
  return true;
}

/** Multiset inclusion of sorted id arrays: every element of `small` occurs in `big`, as often. */
function includes(big: Int32Array, small: Int32Array): boolean {
  if (small.length > big.length) return false;
  let j = 0;
  for (let i = 0; i < small.length; i++) {
    const x = small[i] ?? 0;
    while (j < big.length && (big[j] ?? 0) < x) j++;
    if (j >= big.length || big[j] !== x) return false;
    j++;
  }
  return true;
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

export function check(cfg: ModelConfig, opts: SearchOptions): CheckResult {
  const t0 = performance.now();
  const model = new Model(cfg);
  // Per distinct state: its parent's index and the action from it (the search tree, for paths).
  const parent: number[] = [];
  const via: (Action | null)[] = [];
  const depthOf: number[] = [];
  const seen = new Map<string, number>();
  const witnesses: Witness[] = SOMETIMES.map((p) => ({ name: p.name, about: p.about, path: null }));
  let generated = 0;
  let pruned = 0;
  let maxDepth = 0;
  let violation: CheckResult['violation'] = null;

  const pathTo = (id: number, last: Action | null): Action[] => {
    const path: Action[] = last === null ? [] : [last];
    for (let i = id; i >= 0; i = parent[i] ?? -1) {
      const a = via[i];
      if (a !== null && a !== undefined) path.push(a);
    }
    return path.reverse();
  };

  // Covering (subsumption), with the reduction on: per control part (everything but the network), the
  // networks of admitted states, as sorted ids of interned envelope keys, kept as an antichain.
  const subsume = cfg.reduce ?? true;
  const msgIds = new Map<string, number>();
  const groups = new Map<string, Int32Array[]>();
  let admitted = 0;
  let covered = 0;
  const netIds = (s: State): Int32Array => {
    const ids = new Int32Array(s.net.length);
    for (let i = 0; i < s.net.length; i++) {
      const k = s.net[i]?.key ?? '';
      let n = msgIds.get(k);
      if (n === undefined) msgIds.set(k, (n = msgIds.size));
      ids[i] = n;
    }
    return ids.sort();
  };
  /** True if the state is new (not covered); records it. */
  const fresh = (s: State): boolean => {
    if (!subsume) {
      const key = hash(model.fingerprint(s));
      if (seen.has(key)) return false;
      seen.set(key, admitted);
      return true;
    }
    const key = model.controlFingerprint(s); // short: ids of interned texts
    const net = netIds(s);
    const list = groups.get(key);
    if (list === undefined) {
      groups.set(key, [net]);
      return true;
    }
    for (const other of list) {
      if (includes(other, net)) {
        covered++;
        return false;
      }
    }
    // Keep only maximal networks: one the new state covers can prune nothing the new one cannot.
    let w = 0;
    for (const other of list) if (!includes(net, other)) list[w++] = other;
    list.length = w;
    list.push(net);
    return true;
  };

  const admit = (s: State, from: number, a: Action | null, depth: number): number => {
    if (!fresh(s)) return -1;
    opts.onState?.(model, s);
    const id = parent.length;
    admitted++;
    parent.push(from);
    via.push(a);
    depthOf.push(depth);
    if (depth > maxDepth) maxDepth = depth;
    for (let i = 0; i < SOMETIMES.length; i++) {
      const w = witnesses[i];
      const p = SOMETIMES[i];
      if (w !== undefined && p !== undefined && w.path === null && p.test(model, s)) w.path = pathTo(id, null);
    }
    return id;
  };

  const init = model.initial();
  generated++;
  if (!init.ghost.ok) violation = { violations: init.ghost.violations, path: [] };
  const frontier: Array<{ s: State; id: number } | undefined> = [{ s: init, id: admit(init, -1, null, 0) }];
  let head = 0;
  while (violation === null && admitted < opts.maxStates) {
    let item: { s: State; id: number } | undefined;
    if (opts.order === 'bfs') {
      item = frontier[head];
      frontier[head++] = undefined; // drop the reference: expanded states are garbage
      if (head > 65_536 && head * 2 > frontier.length) {
        frontier.splice(0, head); // keep the queue's memory bounded by its live part
        head = 0;
      }
    } else {
      item = frontier.pop();
    }
    if (item === undefined) break;
    const depth = (depthOf[item.id] ?? 0) + 1;
    for (const a of model.actions(item.s)) {
      generated++;
      if (opts.progress !== undefined && generated % 100_000 === 0) {
        opts.progress({ generated, distinct: admitted, queued: frontier.length - head, depth, elapsed_ms: performance.now() - t0 });
      }
      const { state, outOfBound } = model.step(item.s, a);
      if (!state.ghost.ok) {
        violation = { violations: state.ghost.violations, path: pathTo(item.id, a) };
        break;
      }
      if (outOfBound) {
        pruned++;
        continue;
      }
      const id = admit(state, item.id, a, depth);
      if (id >= 0) frontier.push({ s: state, id });
    }
  }
  const exhausted = opts.order === 'bfs' ? head >= frontier.length : frontier.length === 0;
  return {
    config: cfg,
    order: opts.order,
    generated,
    distinct: admitted,
    covered,
    pruned,
    maxDepth,
    elapsed_ms: performance.now() - t0,
    complete: violation === null && exhausted,
    violation,
    sometimes: witnesses,
  };
}
