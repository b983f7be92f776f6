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

  const admit = (s: State, from: number, a: Action | null, depth: number): number => {
    const key = hash(model.fingerprint(s));
    if (seen.has(key)) return -1;
    const id = parent.length;
    seen.set(key, id);
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
  while (violation === null && seen.size < opts.maxStates) {
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
    distinct: seen.size,
    pruned,
    maxDepth,
    elapsed_ms: performance.now() - t0,
    complete: violation === null && exhausted,
    violation,
    sometimes: witnesses,
  };
}
