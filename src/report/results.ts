/**
 * The results folder every measuring tool writes (bench runs, simulator
 * sweeps): `results/<timestamp>/` with
 *
 * - `args.json`: `schema_version`, `tool` ('bench' | 'sim'), the command,
 *   `config_columns` (every input, snake_case with units last: `base_ms`,
 *   `proposers`, `conflict_pct`), `metric_columns` (the measured figures),
 *   `center` ('median' | 'mean': what a metric's own column holds),
 *   `sample_column` ('repeat' | 'seed') when per-sample rows are kept;
 * - `results.csv`: one row per configuration (a sweep point), every input a
 *   column, `samples` (repeats or seeds behind the row) and per metric M the
 *   columns of `estimateCells`: M (the center), M_mean, M_ci95_lo, M_ci95_hi,
 *   M_min, M_max;
 * - optionally `runs.csv`: one row per sample (a bench run, a seed), the same
 *   inputs plus the sample column and each metric's raw value, appended as
 *   each sample ends so an interrupted sweep keeps what it measured.
 *
 * `compare` matches two folders' rows by their configuration columns and
 * refuses folders of different schema versions or tools.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { round3, type Estimate } from './stats.js';

/**
 * Bumped whenever a metric is renamed or its meaning changes.
 * 3: `ballots_per_decision` became `attempts_per_proposal`; latency columns
 * flat (`latency_us_p99`); per-metric estimate columns; `runs.csv`.
 */
export const RESULTS_SCHEMA_VERSION = 3;

export type Tool = 'bench' | 'sim' | 'tune';

/** The fields of args.json every reader relies on; a tool adds its own beside them. */
export interface ResultsArgs {
  tool: Tool;
  command: string;
  config_columns: readonly string[];
  metric_columns: readonly string[];
  center: 'median' | 'mean';
  sample_column: string | null;
}

export const RESULTS_FILE = 'results.csv';
export const SAMPLES_FILE = 'runs.csv';

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

/** A fresh `<root>/<timestamp>[-n]/` folder (with `runs/`). */
export function newResultsDir(root: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let dir = join(root, stamp);
  for (let i = 2; existsSync(dir); i++) dir = join(root, `${stamp}-${i}`);
  mkdirSync(join(dir, 'runs'), { recursive: true });
  return dir;
}

export function writeArgs(dir: string, args: ResultsArgs & Record<string, unknown>): void {
  writeFileSync(join(dir, 'args.json'), JSON.stringify({ schema_version: RESULTS_SCHEMA_VERSION, ...args }, null, 2));
}

function cell(v: Cell | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * results.csv written row by row. The columns are fixed by the first row (every
 * input and metric of a run is known before it ends); a later row with a key
 * the header lacks is refused, so a column never silently goes missing.
 */
export class CsvWriter {
  private columns: string[] | null = null;
  readonly path: string;

  constructor(dir: string, name = 'results.csv') {
    this.path = join(dir, name);
  }

  append(row: Row): void {
    if (this.columns === null) {
      this.columns = Object.keys(row);
      writeFileSync(this.path, `${this.columns.map((c) => cell(c)).join(',')}\n`);
    }
    const extra = Object.keys(row).filter((k) => !(this.columns as string[]).includes(k));
    if (extra.length > 0) throw new Error(`results.csv: row has columns the header lacks: ${extra.join(', ')}`);
    appendFileSync(this.path, `${this.columns.map((c) => cell(row[c])).join(',')}\n`);
  }
}

/** Whole-table CSV (columns: the union of every row's keys, in first-seen order). */
export function toCsv(rows: readonly Row[]): string {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return [cols.map((c) => cell(c)).join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

/** Parses a CSV written by this module (quoted cells, doubled quotes; numbers stay strings). */
export function parseCsv(text: string): Array<Record<string, string>> {
  const records: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      records.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    records.push(row);
  }
  const [header, ...body] = records;
  if (header === undefined) return [];
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

/** The estimate columns of one metric (NaN written as an empty cell). */
export function estimateCells(metric: string, e: Estimate, center: ResultsArgs['center']): Row {
  const v = (x: number): Cell => (Number.isFinite(x) ? round3(x) : null);
  return {
    [metric]: v(center === 'median' ? e.median : e.mean), [`${metric}_mean`]: v(e.mean),
    [`${metric}_ci95_lo`]: v(e.ci95_lo), [`${metric}_ci95_hi`]: v(e.ci95_hi), [`${metric}_min`]: v(e.min), [`${metric}_max`]: v(e.max),
  };
}

const ESTIMATE_SUFFIXES = ['_mean', '_median', '_ci95_lo', '_ci95_hi', '_ci95', '_min', '_max', '_n'] as const;

/** One metric of one results.csv row, as written by estimateCells (or as a plain mean with a `_ci95` half-width). */
export interface PointEstimate {
  n: number;
  center: number;
  mean: number;
  lo: number;
  hi: number;
  min: number;
  max: number;
}

function num(row: Readonly<Record<string, string>>, col: string): number {
  const raw = row[col];
  return raw === undefined || raw.trim() === '' ? Number.NaN : Number(raw);
}

export function readEstimate(row: Readonly<Record<string, string>>, metric: string): PointEstimate {
  const first = (...xs: number[]): number => xs.find(Number.isFinite) ?? Number.NaN;
  const center = first(num(row, metric), num(row, `${metric}_mean`), num(row, `${metric}_median`));
  const mean = first(num(row, `${metric}_mean`), center);
  const half = num(row, `${metric}_ci95`);
  return {
    n: first(num(row, `${metric}_n`), num(row, 'samples'), 1),
    center, mean,
    lo: first(num(row, `${metric}_ci95_lo`), mean - half),
    hi: first(num(row, `${metric}_ci95_hi`), mean + half),
    min: num(row, `${metric}_min`), max: num(row, `${metric}_max`),
  };
}

export class ResultsError extends Error {}

/** Metrics that say the same as another unless commands are batched, each with the one it replaces when they are. */
const BATCH_FIGURES: ReadonlyArray<[perCommand: string, perSlot: string]> = [['commands_per_s', 'decisions_per_s'], ['cpu_us_per_command', 'cpu_us_per_decision']];

/** True when some configuration packed several commands into a slot (the bench's --batch-max). */
export function batchedRuns(set: Pick<ResultSet, 'rows' | 'metric_columns'>): boolean {
  return set.metric_columns.includes('commands_per_decision') && set.rows.some((r) => readEstimate(r, 'commands_per_decision').center > 1.001);
}

/**
 * The figures to plot and lead with: with batching, commands/s and CPU per
 * command stand in for decisions/s and CPU per decision (a slot of 512
 * commands is not one unit of work); without, the per-command twins repeat
 * the per-slot figures and are left out.
 */
export function headlineMetrics(set: Pick<ResultSet, 'rows' | 'metric_columns'>): string[] {
  const batched = batchedRuns(set);
  const drop = new Set<string>(batched ? [] : ['commands_per_decision']);
  for (const [perCommand, perSlot] of BATCH_FIGURES) {
    // The per-slot figure goes only where its replacement is there (older results folders lack cpu_us_per_command).
    if (!batched) drop.add(perCommand);
    else if (set.metric_columns.includes(perCommand)) drop.add(perSlot);
  }
  return set.metric_columns.filter((m) => !drop.has(m));
}

export interface ResultSet {
  dir: string;
  schema_version: number;
  tool: Tool;
  command: string;
  args: Record<string, unknown>;
  config_columns: string[];
  metric_columns: string[];
  center: ResultsArgs['center'];
  /** results.csv: one row per configuration. */
  rows: Array<Record<string, string>>;
  /** runs.csv rows (raw per-sample values), when the tool keeps them. */
  samples: Array<Record<string, string>> | null;
  sample_column: string | null;
}

/**
 * Metric columns of a results.csv whose args.json does not list them: a
 * column C is a metric when C_ci95_lo, C_ci95 or C_mean sits beside it.
 */
function inferMetrics(header: readonly string[]): string[] {
  const has = new Set(header);
  return header.filter((c) => has.has(`${c}_ci95_lo`) || has.has(`${c}_ci95`) || has.has(`${c}_mean`));
}

function strings(v: unknown): string[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
}

/** Reads a results folder; throws ResultsError with a one-line reason when it is not one. */
export function readResults(dir: string): ResultSet {
  const argsPath = join(dir, 'args.json');
  if (!existsSync(argsPath)) throw new ResultsError(`${dir} is not a results folder (no args.json)`);
  let args: Record<string, unknown>;
  try {
    args = JSON.parse(readFileSync(argsPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ResultsError(`${argsPath}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const version = args.schema_version;
  if (typeof version !== 'number') throw new ResultsError(`${dir} has no schema_version in args.json (written before results folders were versioned: run it again)`);
  const csvPath = join(dir, RESULTS_FILE);
  if (!existsSync(csvPath)) throw new ResultsError(`${dir} has no ${RESULTS_FILE} (an interrupted run keeps only ${SAMPLES_FILE})`);
  const rows = parseCsv(readFileSync(csvPath, 'utf8'));
  const header = Object.keys(rows[0] ?? {});
  const metrics = strings(args.metric_columns) ?? inferMetrics(header);
  const derived = new Set(metrics.flatMap((m) => [m, ...ESTIMATE_SUFFIXES.map((s) => `${m}${s}`)]));
  const config = strings(args.config_columns) ?? header.filter((c) => !derived.has(c) && c !== 'samples');
  const sampleColumn = typeof args.sample_column === 'string' ? args.sample_column : null;
  const samplesPath = join(dir, SAMPLES_FILE);
  return {
    dir, schema_version: version, tool: args.tool === 'sim' || args.tool === 'tune' ? args.tool : 'bench', command: typeof args.command === 'string' ? args.command : '',
    args, config_columns: config, metric_columns: metrics, center: args.center === 'mean' ? 'mean' : 'median', rows,
    samples: sampleColumn !== null && existsSync(samplesPath) ? parseCsv(readFileSync(samplesPath, 'utf8')) : null,
    sample_column: sampleColumn,
  };
}

/** The key that matches a row across folders: its values of the given configuration columns. */
export function configKey(row: Readonly<Record<string, Cell | undefined>>, columns: readonly string[]): string {
  return columns.map((c) => `${c}=${row[c] === null || row[c] === undefined ? '' : String(row[c])}`).join(' ');
}
