/**
 * The checker against the definition: on small random histories (registers
 * and lists, with unknown outcomes) the verdict of the search, with and
 * without the models' preparation, equals that of a brute force over every
 * order of the operations that respects real time. Both verdicts occur often
 * in the sample (asserted), so agreement means something.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable, type Model, type Operation } from '../src/verify/linearizability.js';
import { kvModel, listModel, type KvInput, type KvOutput, type ListInput, type ListOutput, type ListState } from '../src/verify/kv-models.js';

const INF = Number.POSITIVE_INFINITY;

/** Linearizable iff some order of all ops that respects real time (a returned before b was invoked) is accepted step by step. */
function bruteForce<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[]): boolean {
  const used = new Array<boolean>(ops.length).fill(false);
  const place = (state: S, placed: number): boolean => {
    if (placed === ops.length) return true;
    for (let k = 0; k < ops.length; k++) {
      if (used[k]) continue;
      const o = ops[k] as Operation<I, O>;
      // Every op not yet placed must not have returned before o was invoked.
      if (ops.some((p, j) => !used[j] && j !== k && p.ret < o.call)) continue;
      const next = model.step(state, o.input, o.output);
      if (next === null) continue;
      used[k] = true;
      const ok = place(next, placed + 1);
      used[k] = false;
      if (ok) return true;
    }
    return false;
  };
  return place(model.init(), 0);
}

interface Shape {
  write: boolean;
  call: number;
  length: number;
  /** Reads: which prefix of the hidden order (lists) or which value (registers) is returned. */
  pick: number;
}

const shapes = fc.array(
  fc.record({ write: fc.boolean(), call: fc.integer({ min: 0, max: 20 }), length: fc.integer({ min: 0, max: 10 }), pick: fc.nat(7) }),
  { minLength: 1, maxLength: 7 },
);
/** 0: no unknown outcomes; u > 0: every (u+1)-th op has one. */
const unknownChance = fc.integer({ min: 0, max: 4 });

function window(s: Shape, unknownRoll: boolean): { call: number; ret: number } {
  return { call: s.call, ret: unknownRoll ? INF : s.call + s.length };
}

function registerOps(ss: Shape[], unknownEvery: number): Operation<KvInput, KvOutput>[] {
  const values = ['', ...ss.flatMap((s, k) => (s.write ? [`w${k}`] : []))];
  return ss.map((s, k) => {
    const w = window(s, unknownEvery > 0 && k % (unknownEvery + 1) === unknownEvery);
    const input: KvInput = s.write ? { op: 'put', key: 'k', value: `w${k}` } : { op: 'get', key: 'k' };
    return { id: k, client: k, ...w, input, output: s.write || w.ret === INF ? undefined : values[s.pick % values.length] };
  });
}

function listOps(ss: Shape[], unknownEvery: number, order: number[], corrupt: number): Operation<ListInput, ListOutput>[] {
  const writes = ss.flatMap((s, k) => (s.write ? [`w${k}`] : []));
  const hidden = order.filter((i) => i < writes.length).map((i) => writes[i] as string);
  return ss.map((s, k) => {
    const w = window(s, unknownEvery > 0 && k % (unknownEvery + 1) === unknownEvery);
    const input: ListInput = s.write ? { op: 'append', key: 'k', value: `w${k}` } : { op: 'get', key: 'k' };
    let out: string[] | undefined = s.write || w.ret === INF ? undefined : hidden.slice(0, s.pick % (hidden.length + 1));
    // Now and then a read that no object could return: a value repeated or dropped from the middle.
    if (out !== undefined && out.length > 1 && corrupt === k) out = corrupt % 2 === 0 ? [...out, out[0] as string] : out.slice(1);
    return { id: k, client: k, ...w, input, output: out };
  });
}

/** 400 random histories: the bare and the prepared search give the brute force's verdict; both verdicts are common. */
function agreesWithDefinition<S, I, O, A extends unknown[]>(model: Model<S, I, O>, args: { [K in keyof A]: fc.Arbitrary<A[K]> }, build: (...a: A) => Operation<I, O>[]): Record<string, number> {
  const seen = { ok: 0, illegal: 0 };
  /** How the preparation ended, per key: decided ok, decided illegal, or left to the search. */
  const prepared: Record<string, number> = { ok: 0, illegal: 0, ops: 0 };
  const property = fc.property(...(args as unknown as [fc.Arbitrary<unknown>]), (...a: unknown[]) => {
    const ops = build(...(a as A));
    const want = bruteForce(model, ops) ? 'ok' : 'illegal';
    seen[want]++;
    for (const part of model.partition?.(ops).values() ?? []) {
      const p = model.prepare?.(part);
      if (p !== undefined) prepared[Object.keys(p)[0] as string] = (prepared[Object.keys(p)[0] as string] ?? 0) + 1;
    }
    expect(checkLinearizable(model, ops, { prepare: false }).result).toBe(want);
    expect(checkLinearizable(model, ops).result).toBe(want);
  });
  fc.assert(property, { numRuns: 400, seed: 1 });
  expect(seen.ok).toBeGreaterThan(40);
  expect(seen.illegal).toBeGreaterThan(40);
  return prepared;
}

describe('the search and the preparation agree with the definition', () => {
  it('registers: 400 random histories', () => {
    const prepared = agreesWithDefinition<string, KvInput, KvOutput, [Shape[], number]>(kvModel, [shapes, unknownChance], registerOps);
    // Every read names its put here, so the zones decide nearly every history themselves, both ways.
    expect(prepared.ok).toBeGreaterThan(100);
    expect(prepared.illegal).toBeGreaterThan(100);
  });

  it('lists: 400 random histories', () => {
    const order = fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6], { minLength: 7, maxLength: 7 });
    const prepared = agreesWithDefinition<ListState, ListInput, ListOutput, [Shape[], number, number[], number]>(listModel, [shapes, unknownChance, order, fc.integer({ min: 0, max: 10 })], listOps);
    // Lists are decided by the search after the preparation, or refuted by the preparation itself.
    expect(prepared.ops).toBeGreaterThan(100);
    expect(prepared.illegal).toBeGreaterThan(100);
  });
});
