// A replicated key-value store (get, put, cas, append) as a synod state machine: every replica
// runs its own instance, fed the same commands in the same order. Name this module in
// Cluster.start({ stateMachine }); examples/kv-demo.ts does (npx tsx examples/kv-demo.ts).
// It imports nothing: each replica's worker loads it for createStateMachine() alone.

/** Commands change the store; each returns a result to the proposer. */
export type KvCommand =
  | { op: 'put'; key: string; value: string }
  | { op: 'append'; key: string; value: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

/** Queries read it. */
export type KvQuery = { op: 'get'; key: string } | { op: 'size' };

/** put: the value it replaced (null: none); append: the new value; cas: whether it swapped, and the value now. */
export type KvResult = string | null | { ok: boolean; value: string | null };

function text(x: unknown, what: string): string {
  if (typeof x !== 'string') throw new TypeError(`${what} must be a string, got ${typeof x}`);
  return x;
}

/**
 * apply is deterministic: it reads nothing but the command and the map (no clock,
 * no randomness), so every replica reaches the same map. A bad command throws:
 * the throw is that command's result, the same on every replica, and the map is
 * left as it was (every check runs before the first change).
 */
export function createStateMachine(): {
  apply(c: KvCommand): KvResult;
  query(q: KvQuery): string | null | number;
  snapshot(): Uint8Array;
  restore(bytes: Uint8Array): void;
} {
  const map = new Map<string, string>();
  return {
    apply(c) {
      const key = text(c.key, 'key');
      const value = text(c.value, 'value');
      const before = map.get(key) ?? null;
      switch (c.op) {
        case 'put':
          map.set(key, value);
          return before;
        case 'append':
          map.set(key, (before ?? '') + value);
          return map.get(key) ?? null;
        case 'cas': {
          if (c.expected !== null) text(c.expected, 'expected');
          if (before !== c.expected) return { ok: false, value: before };
          map.set(key, value);
          return { ok: true, value };
        }
        default:
          throw new TypeError(`unknown op ${JSON.stringify((c as { op?: unknown }).op)}`);
      }
    },
    query(q) {
      if (q.op === 'get') return map.get(text(q.key, 'key')) ?? null;
      if (q.op === 'size') return map.size;
      throw new TypeError(`unknown query ${JSON.stringify((q as { op?: unknown }).op)}`);
    },
    // The whole map, keys sorted: replicas that applied the same commands write the same bytes.
    snapshot() {
      const keys = [...map.keys()].sort();
      return new TextEncoder().encode(JSON.stringify({ kv: 1, entries: keys.map((k) => [k, map.get(k)]) }));
    },
    // Called on a fresh instance: every check runs before the map is filled.
    restore(bytes) {
      const s = JSON.parse(new TextDecoder().decode(bytes)) as { kv?: unknown; entries?: unknown };
      if (s.kv !== 1 || !Array.isArray(s.entries)) throw new TypeError('not a kv snapshot (format 1)');
      const entries = s.entries as unknown[];
      for (const e of entries) if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'string') throw new TypeError('a kv snapshot entry is not [key, value]');
      for (const e of entries as [string, string][]) map.set(e[0], e[1]);
    },
  };
}
