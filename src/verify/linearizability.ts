/**
 * A linearizability checker in the style of Wing & Gong with the state cache
 * of Lowe and porcupine (anishathalye/porcupine, checker.go): walk the history
 * as a linked list of call and return events; linearize the earliest call that
 * the model accepts; remember every (set of linearized ops, state) reached, so
 * that no configuration is explored twice; backtrack at a return whose
 * operation could not be placed. A history is linearizable iff every operation
 * can be placed. An operation with an unknown outcome (timeout, crash) returns
 * at +infinity and its output is unconstrained, so it may be placed anywhere
 * after its call, including after everything ("never took effect").
 *
 * What keeps it fast on large histories:
 * - the cache key hashes the linearized set and the state together (the set by
 *   Zobrist hashing, updated in O(1) per step; the state by the model's own
 *   hash), and sets and states are compared only on a key match;
 * - a model may split a history into independent parts (per key for a map:
 *   P-compositionality) and may first tighten each part's time windows with
 *   constraints every linearization must meet (`prepare`, e.g. a write that a
 *   read saw must take effect before that read returned), which is exact: the
 *   tightened history is linearizable iff the original is;
 * - the search is bounded by steps per part and by time overall; when either
 *   runs out the verdict is `unknown`, naming the part and how far it got,
 *   never `ok`.
 */

export interface Operation<I, O> {
  /** Index in the history (for reports). */
  id: number;
  client: number;
  /** Invocation and response times; `ret` is +Infinity for an unknown outcome. */
  call: number;
  ret: number;
  input: I;
  /** undefined: the outcome is unknown (any output is accepted). */
  output: O | undefined;
}

/** A model's preparation of one part: equivalent ops for the search, or a decision it proved (either way). */
export type Prepared<I, O> = { ops: Operation<I, O>[] } | { illegal: string } | { ok: true };

export interface Model<S, I, O> {
  init(): S;
  /** The state after `input` returned `output` in `state`, or null if it cannot have (undefined output: any). */
  step(state: S, input: I, output: O | undefined): S | null;
  /** A 32-bit hash of a state (equal states, equal hashes). */
  hash(state: S): number;
  equal(a: S, b: S): boolean;
  /** Independent sub-histories (default: one). */
  partition?(ops: readonly Operation<I, O>[]): Map<string, Operation<I, O>[]>;
  /** Exact preprocessing of one part (see the file comment); must not change `ops` in place. */
  prepare?(ops: readonly Operation<I, O>[]): Prepared<I, O>;
  describe?(op: Operation<I, O>): string;
}

export interface CheckOptions {
  /** Search steps per part (a step is one event visited). Deterministic, unlike the time bound. */
  maxSteps?: number;
  /** Wall-clock bound for the whole check. */
  maxMs?: number;
  /** Use the model's `prepare` (default true; off to measure the bare search). */
  prepare?: boolean;
}

interface Totals {
  ops: number;
  partitions: number;
  steps: number;
  elapsed_ms: number;
}

export type CheckResult =
  | ({ result: 'ok' } & Totals)
  | ({ result: 'illegal'; partition: string; detail: string } & Totals)
  /** The budget ran out first: neither proven nor refuted (reported, never counted as ok). */
  | ({ result: 'unknown'; partition: string; detail: string } & Totals);

/** Default search steps per part. */
export const DEFAULT_MAX_STEPS = 20_000_000;
/** Default time bound of one check. */
export const DEFAULT_MAX_MS = 60_000;

/** How often (in steps) the clock is read. */
const CLOCK_EVERY_STEPS = 1024;

interface Entry {
  /** Call entries point at their return; return entries have null. */
  match: Entry | null;
  op: number;
  time: number;
  isCall: boolean;
  prev: Entry | null;
  next: Entry | null;
}

interface Cached<S> {
  bits: Uint32Array;
  state: S;
}

/** A 32-bit mixer (murmur3's finalizer): the Zobrist value of op k is mix32 of a per-op constant. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Two 32-bit Zobrist values per op: the linearized set's hash is the XOR of its members' values. */
function zobrist(n: number): Uint32Array {
  const z = new Uint32Array(2 * n);
  for (let k = 0; k < n; k++) {
    z[2 * k] = mix32(k * 2 + 0x9e3779b9);
    z[2 * k + 1] = mix32(k * 2 + 1 + 0x7f4a7c15);
  }
  return z;
}

/** Events in time order as a doubly linked list behind a head sentinel; at equal times calls first (touching ops are concurrent, porcupine's rule). */
function eventList<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const events: Entry[] = [];
  ops.forEach((o, k) => {
    const ret: Entry = { match: null, op: k, time: o.ret, isCall: false, prev: null, next: null };
    events.push({ match: ret, op: k, time: o.call, isCall: true, prev: null, next: null }, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = { match: null, op: -1, time: -Infinity, isCall: false, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function lift(e: Entry): void {
  (e.prev as Entry).next = e.next;
  if (e.next !== null) e.next.prev = e.prev;
  const m = e.match as Entry;
  (m.prev as Entry).next = m.next;
  if (m.next !== null) m.next.prev = m.prev;
}

function unlift(e: Entry): void {
  const m = e.match as Entry;
  (m.prev as Entry).next = m;
  if (m.next !== null) m.next.prev = m;
  (e.prev as Entry).next = e;
  if (e.next !== null) e.next.prev = e;
}

interface PartOutcome {
  verdict: 'ok' | 'illegal' | 'unknown';
  steps: number;
  /** Most ops linearized at once (how far the search got). */
  deepest: number;
  /** The op whose return stopped the deepest partial linearization (illegal), or -1. */
  stuck: number;
  /** What ran out (unknown). */
  exhausted: 'steps' | 'time' | null;
}

/** The configuration cache: (linearized set, state) keyed by one safe integer made of both hashes. */
class ConfigCache<S> {
  private readonly map = new Map<number, Cached<S> | Cached<S>[]>();
  constructor(private readonly model: Model<S, unknown, unknown>) {}

  /** Adds the configuration unless present; true if it was new. */
  add(bits: Uint32Array, setA: number, setB: number, state: S): boolean {
    const sh = this.model.hash(state) >>> 0;
    const key = ((setA ^ sh) >>> 0) * 0x200000 + ((setB ^ mix32(sh)) & 0x1fffff);
    const found = this.map.get(key);
    if (found === undefined) {
      this.map.set(key, { bits: bits.slice(), state });
      return true;
    }
    const list = Array.isArray(found) ? found : [found];
    for (const c of list) if (sameBits(c.bits, bits) && this.model.equal(c.state, state)) return false;
    list.push({ bits: bits.slice(), state });
    if (!Array.isArray(found)) this.map.set(key, list);
    return true;
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The Wing-Gong search of one part. */
function searchPart<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], maxSteps: number, deadline: number): PartOutcome {
  const head = eventList(ops);
  const z = zobrist(ops.length);
  const cache = new ConfigCache(model as Model<S, unknown, unknown>);
  const bits = new Uint32Array((ops.length >>> 5) + 1);
  let setA = 0, setB = 0;
  const calls: { entry: Entry; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0, deepest = 0, stuck = -1, stuckDepth = -1;
  const flip = (k: number): void => {
    bits[k >>> 5] = ((bits[k >>> 5] as number) ^ (1 << (k & 31))) >>> 0;
    setA ^= z[2 * k] as number;
    setB ^= z[2 * k + 1] as number;
  };
  while (head.next !== null && entry !== null) {
    if (++steps > maxSteps) return { verdict: 'unknown', steps: maxSteps, deepest, stuck, exhausted: 'steps' };
    if (steps % CLOCK_EVERY_STEPS === 0 && performance.now() > deadline) return { verdict: 'unknown', steps, deepest, stuck, exhausted: 'time' };
    if (entry.isCall) {
      const o = ops[entry.op] as Operation<I, O>;
      const next = model.step(state, o.input, o.output);
      if (next !== null) {
        flip(entry.op);
        if (cache.add(bits, setA, setB, next)) {
          calls.push({ entry, state });
          state = next;
          lift(entry);
          if (calls.length > deepest) deepest = calls.length;
          entry = head.next;
          continue;
        }
        flip(entry.op);
      }
      entry = entry.next;
    } else {
      // The op that blocks the longest partial linearization is the most useful one to report.
      if (calls.length > stuckDepth) {
        stuckDepth = calls.length;
        stuck = entry.op;
      }
      const top = calls.pop();
      if (top === undefined) return { verdict: 'illegal', steps, deepest, stuck: stuck < 0 ? entry.op : stuck, exhausted: null };
      entry = top.entry;
      state = top.state;
      flip(entry.op);
      unlift(entry);
      entry = entry.next;
    }
  }
  return { verdict: 'ok', steps, deepest: ops.length, stuck: -1, exhausted: null };
}

function describeOp<I, O>(model: Model<unknown, I, O>, o: Operation<I, O> | undefined): string {
  if (o === undefined) return 'an op';
  return model.describe?.(o) ?? `op ${o.id}`;
}

export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], opts: CheckOptions = {}): CheckResult {
  const t0 = performance.now();
  const deadline = t0 + (opts.maxMs ?? DEFAULT_MAX_MS);
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  // Smallest parts first: a time bound that runs out on a big part has then checked every smaller one.
  const parts = [...(model.partition?.(history) ?? new Map([['all', history.slice()]]))].sort((a, b) => a[1].length - b[1].length);
  const totals = (steps: number): Totals => ({ ops: history.length, partitions: parts.length, steps, elapsed_ms: performance.now() - t0 });
  const m = model as unknown as Model<unknown, I, O>;
  let steps = 0;
  let unknown: { partition: string; detail: string; skipped: boolean } | null = null;
  let unchecked = 0;
  for (const [name, raw] of parts) {
    // At or past the deadline (a 0 ms bound checks nothing, and says so).
    if (performance.now() >= deadline) {
      unknown ??= { partition: name, detail: `partition ${name} (${raw.length} ops) not checked: the ${opts.maxMs ?? DEFAULT_MAX_MS} ms time bound ran out first`, skipped: true };
      unchecked++;
      continue;
    }
    const prepared = opts.prepare === false || model.prepare === undefined ? { ops: raw } : model.prepare(raw);
    if ('illegal' in prepared) return { result: 'illegal', ...totals(steps), partition: name, detail: `partition ${name} (${raw.length} ops) is not linearizable: ${prepared.illegal}` };
    if ('ok' in prepared) continue;
    const ops = prepared.ops;
    const r = searchPart(model, ops, maxSteps, deadline);
    steps += r.steps;
    if (r.verdict === 'illegal') {
      const what = `no place for ${describeOp(m, ops[r.stuck])} after the longest linearizable prefix (${r.deepest} of ${ops.length} ops)`;
      return { result: 'illegal', ...totals(steps), partition: name, detail: `partition ${name} (${raw.length} ops) is not linearizable: ${what}` };
    }
    if (r.verdict === 'unknown' && unknown === null) {
      const bound = r.exhausted === 'steps' ? `the ${maxSteps} step budget` : `the ${opts.maxMs ?? DEFAULT_MAX_MS} ms time bound`;
      unknown = {
        partition: name,
        detail: `partition ${name} (${raw.length} ops) not decided: ${bound} ran out after ${r.steps} steps and ${(performance.now() - t0).toFixed(0)} ms, with at most ${r.deepest} of ${ops.length} ops linearized`,
        skipped: false,
      };
    }
  }
  if (unknown !== null) {
    const others = unchecked - (unknown.skipped ? 1 : 0);
    const more = others > 0 ? `; ${others} more partition(s) not checked for lack of time` : '';
    return { result: 'unknown', ...totals(steps), partition: unknown.partition, detail: unknown.detail + more };
  }
  return { result: 'ok', ...totals(steps) };
}
