/**
 * Models for the linearizability checker: a key-value map of registers
 * (put/get, what a chaos run does) and a map of append-only lists
 * (append/get, where a read returns everything appended so far, so a lost or
 * reordered write is visible to every later read). Both split the history per
 * key and tighten each key's time windows before the search (`prepare`).
 *
 * The tightenings are implied by every linearization, so they change no
 * verdict (test/linearizability-models.test.ts compares verdicts with and
 * without them on random histories):
 * - a read with an unknown output constrains nothing: dropped;
 * - a write a read saw takes effect before that read returns, and the read
 *   after the write was invoked;
 * - lists: every read returns a prefix of one sequence, so the longest read
 *   fixes the order of the appends it saw (an append no read saw comes after
 *   all of those), and windows follow that order;
 * - registers: a read of the initial '' comes before every write;
 * - a write with an unknown outcome that no read saw can be placed after
 *   everything: dropped.
 * They rest on each written value identifying its write; where two writes
 * carry one value, that key is searched untightened. A window whose call ends
 * up after its return is a proof of non-linearizability, reported with the
 * ops that bound it. A register key whose every read names its put (unique
 * values, none written as '') is then decided outright by Gibbons and
 * Korach's zones (registerZones), in O(n log n): the search is exponential in
 * the puts in flight there, which nothing else orders.
 */
import type { Model, Operation, Prepared } from './linearizability.js';

export type KvInput = { op: 'put'; key: string; value: string } | { op: 'get'; key: string };
/** A get's output is the value read ('' when the key was never written); a put's is ignored. */
export type KvOutput = string;

export type ListInput =
  /** `index`/`minIndex`: where the append must land in the list, as the reads force it (set by prepare only). */
  | { op: 'append'; key: string; value: string; index?: number; minIndex?: number }
  | { op: 'get'; key: string };
/** A get's output is every value appended to its key, oldest first; an append's is ignored. */
export type ListOutput = readonly string[];

/** FNV-1a over UTF-16 code units. */
export function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function byKey<T extends { input: { key: string } }>(ops: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const o of ops) {
    const l = m.get(o.input.key);
    if (l === undefined) m.set(o.input.key, [o]);
    else l.push(o);
  }
  return m;
}

const t = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'inf');

/** Windows being tightened, with the op that set each bound (for the report). */
class Windows<I, O> {
  readonly ops: Operation<I, O>[];
  private readonly callBy: number[];
  private readonly retBy: number[];
  constructor(ops: readonly Operation<I, O>[]) {
    this.ops = ops.map((o) => ({ ...o }));
    this.callBy = ops.map((_, k) => k);
    this.retBy = ops.map((_, k) => k);
  }
  /** Op k takes effect no earlier than op `by` was invoked. */
  after(k: number, by: number): void {
    const o = this.ops[k] as Operation<I, O>, b = this.ops[by] as Operation<I, O>;
    if (b.call > o.call) {
      o.call = b.call;
      this.callBy[k] = this.callBy[by] as number;
    }
  }
  /** Op k takes effect no later than op `by` returned. */
  before(k: number, by: number): void {
    const o = this.ops[k] as Operation<I, O>, b = this.ops[by] as Operation<I, O>;
    if (b.ret < o.ret) {
      o.ret = b.ret;
      this.retBy[k] = this.retBy[by] as number;
    }
  }
  /** The tightened ops (without those in `drop`), or the first empty window as a proof. */
  result(describe: (o: Operation<I, O>) => string, original: readonly Operation<I, O>[], drop: ReadonlySet<number> = new Set()): Prepared<I, O> {
    for (const [k, o] of this.ops.entries()) {
      if (drop.has(k) || o.call <= o.ret) continue;
      const a = original[this.callBy[k] as number] as Operation<I, O>, b = original[this.retBy[k] as number] as Operation<I, O>;
      return { illegal: `${describe(original[k] as Operation<I, O>)} has no place: it must take effect after ${describe(a)} was invoked (${t(a.call)}) and before ${describe(b)} returned (${t(b.ret)})` };
    }
    return { ops: this.ops.filter((_, k) => !drop.has(k)) };
  }
}

/** Per-key registers: put always succeeds, get must return the latest put (or ''). */
export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',
  step(state, input, output) {
    if (input.op === 'put') return input.value;
    return output === undefined || output === state ? state : null;
  },
  hash: stringHash,
  equal: (a, b) => a === b,
  partition: byKey,
  prepare: (ops) => prepareRegisters(ops),
  describe(o) {
    const what = o.input.op === 'put' ? `put(${o.input.key}, ${JSON.stringify(o.input.value)})` : `get(${o.input.key}) -> ${o.output === undefined ? '?' : JSON.stringify(o.output)}`;
    return `op ${o.id} client ${o.client} ${what} [${t(o.call)}, ${t(o.ret)}] ms`;
  },
};

function prepareRegisters(all: readonly Operation<KvInput, KvOutput>[]): Prepared<KvInput, KvOutput> {
  const ops = all.filter((o) => o.input.op === 'put' || o.output !== undefined);
  const w = new Windows(ops);
  /** value -> index of its one put (-1: written twice, no tightening on it). */
  const writer = new Map<string, number>();
  ops.forEach((o, k) => {
    if (o.input.op === 'put') writer.set(o.input.value, writer.has(o.input.value) ? -1 : k);
  });
  const seen = new Set<number>();
  const initialReads: number[] = [];
  for (const [k, o] of ops.entries()) {
    if (o.input.op !== 'get') continue;
    const v = o.output as string;
    // '' is also the initial value: a read of it names no put.
    if (v === '') {
      initialReads.push(k);
      continue;
    }
    const p = writer.get(v);
    if (p === undefined) return { illegal: `${kvModel.describe?.(o) ?? ''} reads a value no put wrote` };
    if (p < 0) continue;
    seen.add(p);
    w.before(p, k);
    w.after(k, p);
  }
  // The latest-invoked read of the initial value bounds every put from below.
  const g = initialReads.reduce((m, k) => (m < 0 || (ops[k] as Operation<KvInput, KvOutput>).call > (ops[m] as Operation<KvInput, KvOutput>).call ? k : m), -1);
  if (g >= 0 && !writer.has('')) {
    for (const [k, o] of ops.entries()) if (o.input.op === 'put') w.after(k, g);
  }
  // An unknown put nobody read can go after everything.
  const drop = new Set<number>();
  ops.forEach((o, k) => {
    if (o.input.op === 'put' && o.ret === Number.POSITIVE_INFINITY && writer.get(o.input.value) === k && !seen.has(k)) drop.add(k);
  });
  const prepared = w.result((o) => kvModel.describe?.(o) ?? '', ops, drop);
  // Every read names its put (no value written twice, none written as ''): the zones decide, no search needed.
  const named = [...writer.entries()].every(([v, k]) => k >= 0 && v !== '');
  if (!('ops' in prepared) || !named || prepared.ops.some((o) => o.ret === Number.POSITIVE_INFINITY)) return prepared;
  return registerZones(prepared.ops);
}

interface Cluster {
  /** The earliest return and the latest call among a put and its reads (the put of '' at -infinity). */
  f: number;
  s: number;
  fOp: Operation<KvInput, KvOutput> | null;
  sOp: Operation<KvInput, KvOutput>;
}

/**
 * Gibbons and Korach's test for a register whose reads each name their put:
 * group each put with its reads. A group whose earliest return comes before
 * its latest call must hold the register over that "forward zone" [f, s], so
 * no two forward zones may overlap, and no group may fit only inside another's
 * forward zone ([s, f] strictly within it). Both conditions are necessary and,
 * with every read after its put was invoked (the windows ensure it), sufficient.
 * Ties are allowed: ops that touch may be ordered either way (the search's rule).
 */
function registerZones(ops: readonly Operation<KvInput, KvOutput>[]): Prepared<KvInput, KvOutput> {
  const clusters = new Map<string, Cluster>();
  for (const o of ops) {
    const v = o.input.op === 'put' ? o.input.value : (o.output as string);
    const c = clusters.get(v) ?? { f: v === '' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY, s: Number.NEGATIVE_INFINITY, fOp: null, sOp: o };
    clusters.set(v, c);
    if (o.ret < c.f) {
      c.f = o.ret;
      c.fOp = o;
    }
    if (o.call > c.s) {
      c.s = o.call;
      c.sOp = o;
    }
  }
  const forward = [...clusters.values()].filter((c) => c.f < c.s).sort((a, b) => a.f - b.f);
  const d = (o: Operation<KvInput, KvOutput> | null): string => (o === null ? 'the initial value' : (kvModel.describe?.(o) ?? ''));
  const held = (c: Cluster): string => `from ${d(c.fOp)} returned to ${d(c.sOp)} was invoked`;
  for (let i = 1; i < forward.length; i++) {
    const a = forward[i - 1] as Cluster, b = forward[i] as Cluster;
    if (b.f < a.s) return { illegal: `two values must each be held over overlapping times: ${held(a)}, and ${held(b)}` };
  }
  for (const c of clusters.values()) {
    if (c.f < c.s) continue;
    // The forward zone that starts last before this group's [s, f] begins is the only one that can hold it.
    let lo = 0, hi = forward.length - 1, at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((forward[mid] as Cluster).f < c.s) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const z = forward[at];
    if (z !== undefined && c.f < z.s) return { illegal: `${d(c.sOp)} and its reads fit only where another value must be held, ${held(z)}` };
  }
  return { ok: true };
}

/** An immutable list (shared tails): appending is O(1), equality stops at the first shared node. */
export interface ListState {
  readonly prev: ListState | null;
  readonly value: string;
  readonly length: number;
  readonly hash: number;
  /** The last get output this list was found equal to (a memo: the same read is checked again and again). */
  matched: ListOutput | null;
}

const LIST_SEED = 0x3c6ef372;
const emptyList: ListState = { prev: null, value: '', length: 0, hash: LIST_SEED, matched: null };
const extendHash = (h: number, v: string): number => Math.imul(h ^ stringHash(v), 0x9e3779b1) >>> 0;

const outputHashes = new WeakMap<ListOutput, number>();
function outputHash(out: ListOutput): number {
  let h = outputHashes.get(out);
  if (h === undefined) {
    h = LIST_SEED;
    for (const v of out) h = extendHash(h, v);
    outputHashes.set(out, h);
  }
  return h;
}

function listEquals(a: ListState, b: ListState): boolean {
  if (a.length !== b.length || a.hash !== b.hash) return false;
  for (let x: ListState | null = a, y: ListState | null = b; x !== y; x = x.prev, y = (y as ListState).prev) {
    if (x === null || y === null || x.value !== y.value) return false;
  }
  return true;
}

function listMatches(s: ListState, out: ListOutput): boolean {
  if (s.matched === out) return true;
  if (s.length !== out.length || s.hash !== outputHash(out)) return false;
  let x: ListState | null = s;
  for (let i = out.length - 1; i >= 0; i--, x = (x as ListState).prev) if ((x as ListState).value !== out[i]) return false;
  s.matched = out;
  return true;
}

/** Per-key append-only lists: append always succeeds, get must return the whole list. */
export const listModel: Model<ListState, ListInput, ListOutput> = {
  init: () => emptyList,
  step(state, input, output) {
    if (input.op === 'append') {
      if ((input.index !== undefined && state.length !== input.index) || (input.minIndex !== undefined && state.length < input.minIndex)) return null;
      return { prev: state, value: input.value, length: state.length + 1, hash: extendHash(state.hash, input.value), matched: null };
    }
    return output === undefined || listMatches(state, output) ? state : null;
  },
  hash: (s) => s.hash,
  equal: listEquals,
  partition: byKey,
  prepare: (ops) => prepareLists(ops),
  describe(o) {
    if (o.input.op === 'append') return `op ${o.id} client ${o.client} append(${o.input.key}, ${JSON.stringify(o.input.value)}) [${t(o.call)}, ${t(o.ret)}] ms`;
    const out = o.output;
    const shown = out === undefined ? '?' : `${out.length} values${out.length > 0 ? `, ending ${JSON.stringify(out.slice(-3))}` : ''}`;
    return `op ${o.id} client ${o.client} get(${o.input.key}) -> [${shown}] [${t(o.call)}, ${t(o.ret)}] ms`;
  },
};

/**
 * Every read of a linearizable list history returns a prefix of one sequence:
 * the order the seen appends took effect in. So the longest read fixes the
 * index of every append it holds; an append no read saw comes after all of
 * them. Time windows then follow along that chain (an op takes effect after
 * its predecessor was invoked and before its successor returned).
 */
function prepareLists(all: readonly Operation<ListInput, ListOutput>[]): Prepared<ListInput, ListOutput> {
  const describe = (o: Operation<ListInput, ListOutput>): string => listModel.describe?.(o) ?? '';
  const appendAt = new Map<string, number>();
  for (const [k, o] of all.entries()) {
    if (o.input.op !== 'append') continue;
    // Two appends of one value: the reads do not say which one they saw; search untightened.
    if (appendAt.has(o.input.value)) return { ops: all.filter((x) => x.input.op === 'append' || x.output !== undefined) };
    appendAt.set(o.input.value, k);
  }
  const seen = new Set<string>();
  let longest: ListOutput = [];
  for (const o of all) {
    if (o.input.op !== 'get' || o.output === undefined) continue;
    const inThis = new Set<string>();
    for (const v of o.output) {
      if (!appendAt.has(v)) return { illegal: `${describe(o)} sees ${JSON.stringify(v)}, which no append wrote` };
      if (inThis.has(v)) return { illegal: `${describe(o)} sees ${JSON.stringify(v)} twice` };
      inThis.add(v);
      seen.add(v);
    }
    if (o.output.length > longest.length) longest = o.output;
  }
  for (const o of all) {
    if (o.input.op !== 'get' || o.output === undefined || o.output === longest) continue;
    const i = o.output.findIndex((v, k) => v !== longest[k]);
    if (i >= 0) return { illegal: `${describe(o)} and a read of ${longest.length} values disagree at position ${i}: ${JSON.stringify(o.output[i])} vs ${JSON.stringify(longest[i])}` };
  }
  // An unknown append nobody saw can go after everything; an unknown read constrains nothing.
  const ops = all.filter((o) => (o.input.op === 'get' ? o.output !== undefined : o.ret !== Number.POSITIVE_INFINITY || seen.has(o.input.value)));
  const w = new Windows(ops);
  const index = new Map<string, number>(longest.map((v, i) => [v, i]));
  const n = longest.length;
  const chain: number[] = new Array<number>(n);
  const unseen: number[] = [];
  const readsAt: number[][] = Array.from({ length: n + 1 }, () => []);
  for (const [k, o] of ops.entries()) {
    if (o.input.op === 'get') (readsAt[(o.output as ListOutput).length] as number[]).push(k);
    else if (index.has(o.input.value)) chain[index.get(o.input.value) as number] = k;
    else unseen.push(k);
  }
  tightenChain(w, chain, unseen, readsAt);
  const prepared = w.result(describe, ops);
  if (!('ops' in prepared)) return prepared;
  for (const o of prepared.ops) {
    if (o.input.op !== 'append') continue;
    const i = index.get(o.input.value);
    o.input = i === undefined ? { ...o.input, minIndex: n } : { ...o.input, index: i };
  }
  return prepared;
}

/** Forward along the chain for calls, backward for returns; the unseen appends act as one last link. */
function tightenChain<I, O>(w: Windows<I, O>, chain: readonly number[], unseen: readonly number[], readsAt: readonly (readonly number[])[]): void {
  const n = chain.length;
  for (let i = 0; i <= n; i++) {
    const prev = i > 0 ? (chain[i - 1] as number) : -1;
    const reads = readsAt[i] as readonly number[];
    if (prev >= 0) for (const g of reads) w.after(g, prev);
    for (const a of i < n ? [chain[i] as number] : unseen) {
      if (prev >= 0) w.after(a, prev);
      for (const g of reads) w.after(a, g);
    }
  }
  // The unseen append that must return first bounds everything before it.
  let next = unseen.reduce((m, k) => (m < 0 || w.ops[k]!.ret < w.ops[m]!.ret ? k : m), -1);
  for (let i = n; i >= 0; i--) {
    const reads = readsAt[i] as readonly number[];
    if (next >= 0) for (const g of reads) w.before(g, next);
    if (i === 0) break;
    const a = chain[i - 1] as number;
    if (next >= 0) w.before(a, next);
    for (const g of reads) w.before(a, g);
    next = a;
  }
}
