/**
 * The hot-path envelope between replicas: one flat array per peer per turn,
 * `[len, ...tuple, len, ...tuple]`, so structured clone copies numbers and
 * strings only (flat clones about twice as fast as nested arrays or objects).
 */
import type { Wire } from '../src/paxos/codec.js';

export type Envelope = Array<number | string>;

/** A bench-only tuple tag (outside the protocol's tags): "propose this value for me" (a non-conflicting proposal). */
export const TAG_ROUTE = 100;

export function pushTuple(env: Envelope, tuple: Wire): number {
  env.push(tuple.length);
  let bytes = 0;
  for (const f of tuple) {
    env.push(f);
    bytes += typeof f === 'number' ? 8 : f.length;
  }
  return bytes;
}

/** Calls `each` with every tuple; returns false if the envelope is malformed (the rest is dropped). */
export function forEachTuple(env: unknown, each: (tuple: Wire) => void): boolean {
  if (!Array.isArray(env)) return false;
  for (let i = 0; i < env.length; ) {
    const n: unknown = env[i];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || i + 1 + n > env.length) return false;
    each(env.slice(i + 1, i + 1 + n) as Wire);
    i += 1 + n;
  }
  return true;
}
