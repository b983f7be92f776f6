/**
 * Large client histories for the linearizability checker, good and bad.
 *
 * Good ones come from simulating a real linearizable object: closed-loop
 * clients each invoke an operation, which takes effect at a random instant
 * (its linearization point) inside a random window around it, and the object
 * applies operations in the order of those instants; reads return what the
 * object held then. Some operations time out: their outcome is unknown (a
 * timed-out write took effect or not, by a coin), and the client moves on
 * after a timeout. Bad ones plant one specific violation in a good history:
 * a stale read, a lost append, or two appends seen in the wrong order.
 */
import { SeededRandom } from '../../src/base/random.js';
import type { KvInput, KvOutput, ListInput, ListOutput } from '../../src/verify/kv-models.js';
import type { Operation } from '../../src/verify/linearizability.js';

export interface HistoryShape {
  seed: number;
  clients: number;
  ops: number;
  keys: number;
  /** Chance an op is a read. */
  getShare: number;
  /** Chance an op times out (unknown outcome). */
  unknownShare: number;
  /** Chance a timed-out write took effect anyway. */
  tookEffectShare: number;
  /** An op takes effect up to this long after its call, and returns up to this long after that. */
  latency_ms: number;
  /** A client waits up to this long between ops. */
  think_ms: number;
  /** A client moves on this long after invoking an op that timed out. */
  timeout_ms: number;
}

export const SHAPE: HistoryShape = { seed: 1, clients: 50, ops: 2000, keys: 3, getShare: 0.5, unknownShare: 0.02, tookEffectShare: 0.5, latency_ms: 5, think_ms: 1, timeout_ms: 20 };

interface Raw {
  id: number;
  client: number;
  key: string;
  read: boolean;
  value: string;
  call: number;
  /** The linearization point, or null for a timed-out write that never took effect. */
  at: number | null;
  ret: number;
  /** What the object held for the key when a read took effect (null for a write or a timed-out read). */
  seen: string[] | null;
}

/** Runs the clients against a linearizable object; every op's window contains its linearization point. */
function simulate(s: HistoryShape): Raw[] {
  const rnd = new SeededRandom(s.seed);
  const next = Array.from({ length: s.clients }, () => rnd.between(0, s.think_ms));
  const seq = new Array<number>(s.clients).fill(0);
  const raw: Raw[] = [];
  for (let id = 0; id < s.ops; id++) {
    let c = 0;
    for (let k = 1; k < s.clients; k++) if ((next[k] as number) < (next[c] as number)) c = k;
    const call = next[c] as number;
    const at = call + rnd.between(0, s.latency_ms);
    const ret = at + rnd.between(0, s.latency_ms);
    const read = rnd.chance(s.getShare);
    const key = `k${rnd.int(0, s.keys - 1)}`;
    const timedOut = rnd.chance(s.unknownShare);
    const took = !timedOut || (!read && rnd.chance(s.tookEffectShare));
    raw.push({ id, client: c, key, read, value: `c${c}.${seq[c]}`, call, at: took ? at : null, ret: timedOut ? Number.POSITIVE_INFINITY : ret, seen: null });
    seq[c] = (seq[c] as number) + 1;
    next[c] = (timedOut ? call + s.timeout_ms : ret) + rnd.between(0, s.think_ms);
  }
  const object = new Map<string, string[]>();
  for (const r of raw.filter((x) => x.at !== null).sort((a, b) => (a.at as number) - (b.at as number))) {
    const list = object.get(r.key) ?? [];
    object.set(r.key, list);
    if (!r.read) list.push(r.value);
    else if (r.ret !== Number.POSITIVE_INFINITY) r.seen = list.slice();
  }
  return raw;
}

export type ListOp = Operation<ListInput, ListOutput>;
export type KvOp = Operation<KvInput, KvOutput>;

/** The simulated ops as checker operations: `write` gives a write's input, `read` a read's output from the list it saw. */
function asOps<I, O>(raw: Raw[], write: (key: string, value: string) => I, read: (seen: string[]) => O): Operation<I | { op: 'get'; key: string }, O>[] {
  return raw.map((r) => ({ id: r.id, client: r.client, call: r.call, ret: r.ret, input: r.read ? { op: 'get', key: r.key } : write(r.key, r.value), output: r.seen === null ? undefined : read(r.seen) }));
}

/** Appends and reads of whole lists. */
export function listHistory(shape: Partial<HistoryShape> = {}): ListOp[] {
  return asOps(simulate({ ...SHAPE, ...shape }), (key, value): ListInput => ({ op: 'append', key, value }), (seen): ListOutput => seen);
}

/** Puts and reads of the latest value ('' before any put). */
export function registerHistory(shape: Partial<HistoryShape> = {}): KvOp[] {
  return asOps(simulate({ ...SHAPE, ...shape }), (key, value): KvInput => ({ op: 'put', key, value }), (seen): KvOutput => seen.at(-1) ?? '');
}

export type ListViolation = 'stale-read' | 'lost-append' | 'reordered-appends';

export interface Planted<Op> {
  ops: Op[];
  key: string;
  /** The ops the violation is about. */
  about: number[];
}

const known = (o: { ret: number }): boolean => o.ret !== Number.POSITIVE_INFINITY;
const isRead = (o: ListOp): boolean => o.input.op === 'get' && o.output !== undefined;

/** The candidate nearest the middle of the history: a violation with a long valid prefix and suffix around it. */
function middle<T extends { call: number }>(cands: T[], ops: readonly { call: number }[]): T {
  const mid = ((ops[0]?.call ?? 0) + (ops.at(-1)?.call ?? 0)) / 2;
  const best = cands.reduce<T | undefined>((b, c) => (b === undefined || Math.abs(c.call - mid) < Math.abs(b.call - mid) ? c : b), undefined);
  if (best === undefined) throw new Error('no place to plant this violation in this history');
  return best;
}

/** A copy of `ops` with one violation planted on a list history. */
export function plantList(ops: readonly ListOp[], what: ListViolation): Planted<ListOp> {
  const copy = ops.map((o) => ({ ...o }));
  const byValue = new Map<string, ListOp>();
  for (const o of copy) if (o.input.op === 'append') byValue.set(o.input.value, o);
  const appendOf = (v: string): ListOp => byValue.get(v) as ListOp;
  if (what === 'stale-read') {
    // A read that returns an older state: it stops before an append that returned before the read was invoked.
    const cands = copy.filter((g) => isRead(g) && (g.output as ListOutput).some((v) => appendOf(v).ret < g.call));
    const g = middle(cands, copy);
    const out = g.output as ListOutput;
    let i = out.length - 1;
    while (!(appendOf(out[i] as string).ret < g.call)) i--;
    g.output = out.slice(0, i);
    return { ops: copy, key: g.input.key, about: [g.id, appendOf(out[i] as string).id] };
  }
  if (what === 'lost-append') {
    // An acknowledged append that a read invoked after it returned should see, gone from every read.
    const cands = copy.filter((a) => a.input.op === 'append' && known(a) && copy.some((g) => isRead(g) && g.input.key === a.input.key && g.call > a.ret));
    const a = middle(cands, copy);
    const v = (a.input as { value: string }).value;
    for (const g of copy) if (isRead(g) && (g.output as ListOutput).includes(v)) g.output = (g.output as ListOutput).filter((x) => x !== v);
    return { ops: copy, key: a.input.key, about: [a.id] };
  }
  // Two appends in real-time order (x returned before y was invoked) that the object applied the other way round:
  // every read that reaches x's place sees y there (and x where y was).
  const longestOf = (key: string): ListOutput => copy.reduce<ListOutput>((l, g) => (isRead(g) && g.input.key === key && (g.output as ListOutput).length > l.length ? (g.output as ListOutput) : l), []);
  const pairs: { call: number; key: string; i: number; j: number }[] = [];
  for (const key of new Set(copy.map((o) => o.input.key))) {
    const longest = longestOf(key);
    longest.forEach((x, i) => {
      const j = longest.findIndex((y, k) => k > i && appendOf(x).ret < appendOf(y).call);
      if (j > i) pairs.push({ call: appendOf(x).call, key, i, j });
    });
  }
  const { key, i, j } = middle(pairs, copy);
  const longest = longestOf(key);
  const swapped = longest.slice();
  [swapped[i], swapped[j]] = [longest[j] as string, longest[i] as string];
  for (const r of copy) if (isRead(r) && r.input.key === key && (r.output as ListOutput).length > i) r.output = swapped.slice(0, (r.output as ListOutput).length);
  return { ops: copy, key, about: [appendOf(longest[i] as string).id, appendOf(longest[j] as string).id] };
}

/** A copy of `ops` with a stale read planted on a register history: a read returns a value overwritten (in real-time order) before the read was invoked. */
export function plantStaleRegisterRead(ops: readonly KvOp[]): Planted<KvOp> {
  const copy = ops.map((o) => ({ ...o }));
  const writer = new Map<string, KvOp>();
  for (const o of copy) if (o.input.op === 'put') writer.set(o.input.value, o);
  // A read g of w's value, w returned before g; an older put p that returned before w was invoked.
  const older = (g: KvOp): KvOp | undefined => {
    const w = writer.get(g.output as string);
    if (w === undefined || !(w.ret < g.call)) return undefined;
    return copy.find((p) => p.input.op === 'put' && p.input.key === g.input.key && known(p) && p.ret < w.call);
  };
  const cands = copy.filter((g) => g.input.op === 'get' && g.output !== undefined && g.output !== '' && older(g) !== undefined);
  const g = middle(cands, copy);
  const p = older(g) as KvOp;
  g.output = (p.input as { value: string }).value;
  return { ops: copy, key: g.input.key, about: [g.id, p.id] };
}
