/**
 * Samples that pair up across configurations: a simulator sweep runs the same
 * seeds at every point (common random numbers), so seed s at point A and
 * seed s at point B saw the same arrivals and network draws, and their
 * difference is the effect of the configuration alone. Compare and the
 * findings judge such samples by the interval of the mean paired difference.
 */
import type { ResultSet } from './results.js';
import { pairedDifference, type Interval } from './stats.js';

/** The sample column that pairs samples (runs.csv's `seed`). */
export const PAIRING_COLUMN = 'seed';

type Sample = Readonly<Record<string, string>>;

/** Does this folder keep one row per seed (so its configurations pair up seed by seed)? */
export function pairsBySeed(set: Pick<ResultSet, 'samples' | 'sample_column'>): boolean {
  return set.samples !== null && set.sample_column === PAIRING_COLUMN;
}

/** One sample's value of a metric (an empty cell is no value, not 0: NaN). */
export function sampleValue(row: Sample, metric: string): number {
  const raw = row[metric];
  return raw === undefined || raw.trim() === '' ? Number.NaN : Number(raw);
}

/** b - a over the seeds where both have a value; null below two pairs. */
export function pairedSeedDifference(a: readonly Sample[], b: readonly Sample[], metric: string): (Interval & { excludesZero: boolean }) | null {
  const bySeed = new Map<string, number>();
  for (const r of a) bySeed.set(r[PAIRING_COLUMN] ?? '', sampleValue(r, metric));
  const xa: number[] = [];
  const xb: number[] = [];
  for (const r of b) {
    const va = bySeed.get(r[PAIRING_COLUMN] ?? '');
    const vb = sampleValue(r, metric);
    if (va === undefined || !Number.isFinite(va) || !Number.isFinite(vb)) continue;
    xa.push(va);
    xb.push(vb);
  }
  return xa.length < 2 ? null : pairedDifference(xa, xb);
}
