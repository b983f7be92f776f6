/**
 * A linearizability checker in the style of Wing & Gong, with the state cache
 * of Lowe and porcupine (anishathalye/porcupine, checker.go): walk the history
 * as a linked list of call and return events; linearize the earliest call that
 * the model accepts, remember (set of linearized ops, state) so that no
 * configuration is explored twice, and backtrack at a return whose operation
 * could not be placed. A history is linearizable iff every operation can be
 * placed. An operation with an unknown outcome (timeout, crash) returns at
 * +infinity and its output is unconstrained, so it may be placed anywhere
 * after its call, including after everything (which is "never took effect").
 *
 * Models can split a history into independent parts (per key for a map:
 * P-compositionality), which keeps the search small.
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

export interface Model<S, I, O> {
  init(): S;
  /** Applies `input` to `state`; ok is false if `output` cannot be what this input returns here. */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** A string that identifies a state (cache key). */
  key(state: S): string;
  /** Independent sub-histories (default: one). */
  partition?(ops: readonly Operation<I, O>[]): Map<string, Operation<I, O>[]>;
  describe?(op: Operation<I, O>): string;
}

export type CheckResult =
  | { result: 'ok'; ops: number; partitions: number; steps: number }
  | { result: 'illegal'; ops: number; partitions: number; steps: number; partition: string; detail: string }
  /** The step budget ran out first: neither proven nor refuted (reported, never counted as ok). */
  | { result: 'unknown'; ops: number; partitions: number; steps: number; partition: string };

interface Entry {
  /** Call entries point at their return; return entries have null. */
  match: Entry | null;
  op: number;
  time: number;
  isCall: boolean;
  prev: Entry | null;
  next: Entry | null;
}

class Bits {
  constructor(readonly words: Uint32Array) {}
  static of(n: number): Bits {
    return new Bits(new Uint32Array(Math.ceil(n / 32) + 1));
  }
  set(i: number): void {
    (this.words as Uint32Array)[i >>> 5] = ((this.words[i >>> 5] as number) | (1 << (i & 31))) >>> 0;
  }
  clear(i: number): void {
    (this.words as Uint32Array)[i >>> 5] = ((this.words[i >>> 5] as number) & ~(1 << (i & 31))) >>> 0;
  }
  clone(): Bits {
    return new Bits(this.words.slice());
  }
  hash(): number {
    let h = 0x811c9dc5;
    for (const w of this.words) h = Math.imul(h ^ w, 0x01000193);
    return h >>> 0;
  }
  equals(o: Bits): boolean {
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== o.words[i]) return false;
    return true;
  }
}

/** Default budget of search steps per partition (a step is one entry visited). */
export const DEFAULT_MAX_STEPS = 5_000_000;

function checkSingle<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], maxSteps: number): { ok: true | false | 'unknown'; steps: number; stuck: number } {
  const events: Entry[] = [];
  ops.forEach((o, k) => {
    const ret: Entry = { match: null, op: k, time: o.ret, isCall: false, prev: null, next: null };
    events.push({ match: ret, op: k, time: o.call, isCall: true, prev: null, next: null }, ret);
  });
  // Time order; at equal times calls first, so operations that touch are concurrent (porcupine's rule).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = { match: null, op: -1, time: -Infinity, isCall: false, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  const lift = (e: Entry): void => {
    (e.prev as Entry).next = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    const m = e.match as Entry;
    (m.prev as Entry).next = m.next;
    if (m.next !== null) m.next.prev = m.prev;
  };
  const unlift = (e: Entry): void => {
    const m = e.match as Entry;
    (m.prev as Entry).next = m;
    if (m.next !== null) m.next.prev = m;
    (e.prev as Entry).next = e;
    if (e.next !== null) e.next.prev = e;
  };
  const cache = new Map<number, { bits: Bits; state: string }[]>();
  const linearized = Bits.of(ops.length);
  const calls: { entry: Entry; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  let stuck = -1;
  let deepest = -1;
  while (head.next !== null && entry !== null) {
    if (++steps > maxSteps) return { ok: 'unknown', steps, stuck };
    if (entry.isCall) {
      const o = ops[entry.op] as Operation<I, O>;
      const r = model.step(state, o.input, o.output);
      if (r.ok) {
        const bits = linearized.clone();
        bits.set(entry.op);
        const h = bits.hash();
        const sk = model.key(r.state);
        const bucket = cache.get(h);
        const seen = bucket?.some((c) => c.state === sk && c.bits.equals(bits)) === true;
        if (!seen) {
          if (bucket === undefined) cache.set(h, [{ bits, state: sk }]);
          else bucket.push({ bits, state: sk });
          calls.push({ entry, state });
          state = r.state;
          linearized.set(entry.op);
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // The op blocking the longest partial linearization is the most useful one to report.
      if (calls.length > deepest) {
        deepest = calls.length;
        stuck = entry.op;
      }
      const top = calls.pop();
      if (top === undefined) return { ok: false, steps, stuck: stuck < 0 ? entry.op : stuck };
      entry = top.entry;
      state = top.state;
      linearized.clear(entry.op);
      unlift(entry);
      entry = entry.next;
    }
  }
  return { ok: true, steps, stuck };
}

export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], opts: { maxSteps?: number } = {}): CheckResult {
  const parts = model.partition?.(history) ?? new Map([['all', history.slice()]]);
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  let steps = 0;
  let unknown: string | null = null;
  for (const [name, ops] of parts) {
    const r = checkSingle(model, ops, maxSteps);
    steps += r.steps;
    if (r.ok === false) {
      const o = ops[r.stuck];
      const what = o === undefined ? '' : `: no place for ${model.describe?.(o) ?? `op ${o.id}`} after the longest linearizable prefix`;
      return { result: 'illegal', ops: history.length, partitions: parts.size, steps, partition: name, detail: `partition ${name} (${ops.length} ops) is not linearizable${what}` };
    }
    if (r.ok === 'unknown') unknown ??= name;
  }
  if (unknown !== null) return { result: 'unknown', ops: history.length, partitions: parts.size, steps, partition: unknown };
  return { result: 'ok', ops: history.length, partitions: parts.size, steps };
}

// ---- the replicated log used as a key-value map ----

export type KvInput = { op: 'put'; key: string; value: string } | { op: 'get'; key: string };
/** A get's output is the value read ('' when the key was never written); a put's is ignored. */
export type KvOutput = string;

/** Per-key registers: put always succeeds, get must return the latest put (or ''). */
export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',
  step(state, input, output) {
    if (input.op === 'put') return { ok: true, state: input.value };
    return { ok: output === undefined || output === state, state };
  },
  key: (s) => s,
  partition(ops) {
    const m = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const o of ops) {
      const l = m.get(o.input.key);
      if (l === undefined) m.set(o.input.key, [o]);
      else l.push(o);
    }
    return m;
  },
  describe(o) {
    const t = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'inf');
    const what = o.input.op === 'put' ? `put(${o.input.key}, ${JSON.stringify(o.input.value)})` : `get(${o.input.key}) -> ${JSON.stringify(o.output)}`;
    return `op ${o.id} client ${o.client} ${what} [${t(o.call)}, ${t(o.ret)}] ms`;
  },
};
