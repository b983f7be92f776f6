/**
 * Structural deep copy and canonical text of plain object graphs, for the
 * model checker's snapshots. Used on a Replica (whose step mutates it) and on
 * the SafetyChecker (whose ghost state is a history the search must branch).
 *
 * Why generic rather than hand-written clone(): a field added to either class
 * later is copied automatically, so a snapshot can never silently share
 * mutable state. Class instances keep their prototype; functions are shared
 * (so they must not close over state: the core's roles call back through
 * objects, never through closures, for this reason).
 */

type Obj = Record<string, unknown>;

/**
 * A deep copy of `root`. Objects for which `keep` returns true are shared, not
 * copied (the contention policy: a closure that cannot be copied, which the
 * checker only accepts when it is stateless).
 */
export function deepCopy<T>(root: T, keep: (o: object) => boolean = noKeep): T {
  return copyValue(root, keep, new Map()) as T;
}

function noKeep(): boolean {
  return false;
}

// A memo keeps shared objects shared and cycles finite: a Replica's roles and
// the replica itself all point at one Node, and the roles call back into the
// replica, so a copy must map each object to exactly one copy.
function copyValue(v: unknown, keep: (o: object) => boolean, memo: Map<object, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (keep(v)) return v;
  const seen = memo.get(v);
  if (seen !== undefined) return seen;
  if (v instanceof Map) {
    const c = new Map<unknown, unknown>();
    memo.set(v, c);
    for (const [k, x] of v) c.set(k, copyValue(x, keep, memo));
    return c;
  }
  if (v instanceof Set) {
    const c = new Set<unknown>(v); // sets here hold primitives (node ids, values)
    memo.set(v, c);
    return c;
  }
  if (ArrayBuffer.isView(v)) {
    const c = (v as unknown as { slice(): unknown }).slice();
    memo.set(v, c);
    return c;
  }
  if (Array.isArray(v)) {
    const c: unknown[] = new Array<unknown>(v.length);
    memo.set(v, c);
    for (let i = 0; i < v.length; i++) c[i] = copyValue(v[i], keep, memo);
    return c;
  }
  const c = Object.create(Object.getPrototypeOf(v) as object | null) as Obj;
  memo.set(v, c);
  for (const k of Object.keys(v)) c[k] = copyValue((v as Obj)[k], keep, memo);
  return c;
}

/**
 * Canonical text of a graph whose Maps and Sets are read only by key (never
 * by iteration order): entries are sorted, so equal contents give equal text
 * whatever order they were inserted in. Keys in `skip` are left out.
 */
export function canonical(root: unknown, skip: ReadonlySet<string> = new Set()): string {
  const out = (v: unknown): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'number':
      case 'boolean':
      case 'bigint':
        return String(v);
      case 'string':
        return JSON.stringify(v);
      case 'undefined':
        return 'u';
      case 'function':
      case 'symbol':
        return 'f';
      default:
        break;
    }
    if (v instanceof Map) {
      const es = [...v].map(([k, x]) => `${out(k)}=>${out(x)}`);
      es.sort();
      return `M{${es.join(',')}}`;
    }
    if (v instanceof Set) {
      const es = [...v].map(out);
      es.sort();
      return `S{${es.join(',')}}`;
    }
    if (Array.isArray(v)) return `[${v.map(out).join(',')}]`;
    const o = v as Obj;
    const parts: string[] = [];
    for (const k of Object.keys(o)) if (!skip.has(k)) parts.push(`${k}:${out(o[k])}`);
    return `{${parts.join(',')}}`;
  };
  return out(root);
}
