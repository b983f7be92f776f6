/**
 * How a results table is laid out for a reader: which configuration columns
 * were swept, which one goes on the x axis, which one splits small multiples
 * (the proposer count), and which ones make the series. Shared by the plots
 * and the findings, so both speak of the same groups.
 */
import type { ResultSet } from './results.js';

export interface Layout {
  /** Configuration columns with more than one value among the rows, in column order. */
  swept: string[];
  /** The x axis: a swept numeric parameter (other than the proposer count when that can facet), else the proposer count, else the first swept column. */
  x: string | null;
  xNumeric: boolean;
  /** Small multiples: one panel per proposer count (null when the proposer count is x or not swept). */
  facet: string | null;
  /** The other swept columns: one series per combination of their values. */
  series: string[];
}

export const FACET_COLUMN = 'proposers';

function isNumeric(values: readonly string[]): boolean {
  return values.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
}

/** The distinct non-empty values of a column (an empty cell: the option does not apply to that row). */
export function distinct(rows: ReadonlyArray<Record<string, string>>, column: string): string[] {
  return [...new Set(rows.map((r) => r[column] ?? '').filter((v) => v !== ''))];
}

export function layout(set: ResultSet): Layout {
  // In the order the command swept them (args.json's swept_columns), then any other varying column.
  const declared = Array.isArray(set.args.swept_columns) ? (set.args.swept_columns as unknown[]).filter((c): c is string => typeof c === 'string') : [];
  const order = [...declared.filter((c) => set.config_columns.includes(c)), ...set.config_columns.filter((c) => !declared.includes(c))];
  const swept = order.filter((c) => distinct(set.rows, c).length > 1);
  // A column that only varies because another swept column switched it off (an empty cell) is not a swept parameter of its own.
  const numeric = swept.filter((c) => isNumeric(distinct(set.rows, c)) && set.rows.every((r) => (r[c] ?? '') !== ''));
  const x = numeric.find((c) => c !== FACET_COLUMN) ?? (swept.includes(FACET_COLUMN) ? FACET_COLUMN : (swept[0] ?? null));
  const xNumeric = x !== null && isNumeric(distinct(set.rows, x));
  const facet = x !== FACET_COLUMN && swept.includes(FACET_COLUMN) ? FACET_COLUMN : null;
  return { swept, x, xNumeric, facet, series: swept.filter((c) => c !== x && c !== facet) };
}

/** A row's series name: the values of the series columns ("lease", or "policy=lease window=64" for two or more). */
export function seriesName(row: Readonly<Record<string, string>>, columns: readonly string[]): string {
  if (columns.length === 0) return 'all';
  if (columns.length === 1) return row[columns[0] as string] || '(n/a)';
  return columns.map((c) => `${c}=${row[c] || '-'}`).join(' ');
}

/** A row's full label by every swept column ("policy=lease proposers=3"). */
export function configLabel(row: Readonly<Record<string, string>>, swept: readonly string[]): string {
  return swept.length === 0 ? 'the one configuration' : swept.map((c) => `${c}=${row[c] || '-'}`).join(' ');
}
