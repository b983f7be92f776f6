/**
 * Sweep grids: `--sweep key=a,b,c` varies one run parameter; several sweeps
 * form their cross product (the last varies fastest). `--sweep POLICY:key=...`
 * varies a parameter only at points whose policy is POLICY, so one sweep can
 * compare policies each with its own grid:
 *
 *   --sweep policy=fixed,exponential --sweep fixed:delay-ms=5,20 --sweep exponential:jitter=none,full
 *
 * Values are separated by commas, or by semicolons when any is present
 * (`latency=normal:10ms,2ms;const:5ms`). Keys joined by `/` move together:
 * `replicas/proposers=5/2,5/5,10/10` is three points, not nine. Every point
 * runs the same seeds (common random numbers), so points compare by paired
 * differences.
 */
import { isPolicyName, POLICY_NAMES, type PolicyName } from '../contention/registry.js';
import { pairedDifference, round3, type Interval } from '../report/stats.js';
import { isParamKey } from './flags.js';
import type { MetricName } from './metrics.js';
import { seedValues, type SeedOutcome } from './outcome.js';

export interface Sweep {
  /** The key as written (`a` or `a/b`). */
  key: string;
  /** The keys it sets (one, or several moving together). */
  keys: string[];
  /** The values as written; with several keys, each splits on `/` into one value per key. */
  values: string[];
  /** Only at points with this policy. */
  policy: PolicyName | null;
}

/** One point: the swept keys' values, in sweep order. */
export type Point = ReadonlyMap<string, string>;

export const POINTS_MAX = 10_000;

export function parseSweep(raw: string): Sweep {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new RangeError(`--sweep must look like key=a,b,c, got '${raw}'`);
  let key = raw.slice(0, eq).trim();
  let policy: PolicyName | null = null;
  const colon = key.indexOf(':');
  if (colon >= 0) {
    const name = key.slice(0, colon);
    if (!isPolicyName(name)) throw new RangeError(`--sweep ${raw}: '${name}' is not a policy (expected one of ${POLICY_NAMES.join(', ')})`);
    policy = name;
    key = key.slice(colon + 1);
  }
  const keys = key.split('/');
  for (const k of keys) if (!isParamKey(k)) throw new RangeError(`--sweep ${raw}: '${k}' is not a run parameter that can be swept`);
  if (new Set(keys).size !== keys.length) throw new RangeError(`--sweep ${raw}: a key twice`);
  if (policy !== null && keys.includes('policy')) throw new RangeError(`--sweep ${raw}: the policy cannot be swept per policy`);
  const body = raw.slice(eq + 1);
  const values = body.split(body.includes(';') ? ';' : ',').map((v) => v.trim());
  if (values.some((v) => v === '')) throw new RangeError(`--sweep ${raw}: an empty value`);
  if (new Set(values).size !== values.length) throw new RangeError(`--sweep ${raw}: a value twice`);
  if (keys.length > 1) {
    for (const v of values) {
      if (v.split('/').length !== keys.length) throw new RangeError(`--sweep ${raw}: '${v}' does not give one value per key (${key})`);
    }
  }
  return { key, keys, values, policy };
}

/** The assignments of one swept value. */
function assignments(s: Sweep, value: string): Array<[string, string]> {
  if (s.keys.length === 1) return [[s.key, value]];
  const parts = value.split('/');
  return s.keys.map((k, i) => [k, parts[i] ?? '']);
}

/** The value a point has for a sweep, as the sweep writes it (`5/2` for `replicas/proposers`), or undefined. */
export function sweptValue(s: Sweep, p: Point): string | undefined {
  const parts = s.keys.map((k) => p.get(k));
  return parts.some((v) => v === undefined) ? undefined : parts.join('/');
}

/** Refuses a key swept twice for the same points, or swept and also set as a flag. */
export function checkSweeps(sweeps: readonly Sweep[], flagsSet: ReadonlySet<string>): void {
  const seen = new Set<string>();
  for (const s of sweeps) {
    for (const key of s.keys) {
      const id = `${s.policy ?? '*'}:${key}`;
      if (seen.has(id) || (s.policy !== null && seen.has(`*:${key}`))) throw new RangeError(`--sweep ${key} is given twice`);
      seen.add(id);
      if (flagsSet.has(key)) throw new RangeError(`--${key} is both set and swept: drop one`);
    }
  }
}

/** The grid's points: the cross product of the plain sweeps, each extended by its policy's own sweeps. */
export function expandPoints(sweeps: readonly Sweep[], basePolicy: string): Point[] {
  let points: Array<Map<string, string>> = [new Map()];
  const cross = (ps: Array<Map<string, string>>, s: Sweep): Array<Map<string, string>> =>
    ps.flatMap((p) => s.values.map((v) => new Map([...p, ...assignments(s, v)])));
  for (const s of sweeps) if (s.policy === null) points = cross(points, s);
  const out: Point[] = [];
  for (const p of points) {
    const policy = p.get('policy') ?? basePolicy;
    let ext = [p];
    for (const s of sweeps) if (s.policy === policy) ext = cross(ext, s);
    out.push(...ext);
    if (out.length > POINTS_MAX) throw new RangeError(`the sweep has more than ${POINTS_MAX} points`);
  }
  return out;
}

/** `key=value ...`; given the sweeps, keys swept over a single value (fixed per-policy settings) are left out. */
export function pointLabel(p: Point, sweeps: readonly Sweep[] = []): string {
  const fixed = new Set(sweeps.filter((s) => s.values.length === 1).flatMap((s) => s.keys));
  const shown = [...p].filter(([k]) => !fixed.has(k));
  return shown.length === 0 ? '(no swept key)' : shown.map(([k, v]) => `${k}=${v}`).join(' ');
}

export interface Comparison {
  a: number;
  b: number;
  metric: MetricName;
  /** b - a over the shared seeds where both are defined. */
  diff: Interval & { excludesZero: boolean };
}

/** Pairs to compare: each point against its baseline (same values but key=value), or each with the next differing in one key. */
export function comparisonPairs(points: readonly Point[], baseline: { key: string; value: string } | null): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  const differsOnlyIn = (a: Point, b: Point): string[] => {
    const keys = new Set([...a.keys(), ...b.keys()]);
    return [...keys].filter((k) => a.get(k) !== b.get(k));
  };
  if (baseline !== null) {
    points.forEach((p, i) => {
      if (!p.has(baseline.key) || p.get(baseline.key) === baseline.value) return;
      const j = points.findIndex((q) => q.get(baseline.key) === baseline.value && differsOnlyIn(p, q).length === 1);
      if (j >= 0) pairs.push([j, i]);
    });
    return pairs;
  }
  for (let i = 0; i + 1 < points.length; i++) {
    if (differsOnlyIn(points[i] as Point, points[i + 1] as Point).length === 1) pairs.push([i, i + 1]);
  }
  return pairs;
}

/** Paired difference of `metric` between two points' seeds (dropping seeds where either is undefined). */
export function compare(a: readonly SeedOutcome[], b: readonly SeedOutcome[], metric: MetricName): Interval & { excludesZero: boolean } {
  const xa = seedValues(a, metric);
  const xb = seedValues(b, metric);
  const keep = xa.map((x, i) => Number.isFinite(x) && Number.isFinite(xb[i] as number));
  return pairedDifference(xa.filter((_, i) => keep[i]), xb.filter((_, i) => keep[i]));
}

export function formatComparison(label: string, metric: MetricName, d: Interval & { excludesZero: boolean }): string {
  if (d.n === 0) return `  ${label}: ${metric}: no seed where both are defined`;
  const sign = d.mean >= 0 ? '+' : '';
  const ci = Number.isFinite(d.ci95) ? ` ±${round3(d.ci95)}` : '';
  return `  ${label}: ${metric} ${sign}${round3(d.mean)}${ci} over ${d.n} seeds${d.excludesZero ? ' (differs)' : ' (no difference shown)'}`;
}
