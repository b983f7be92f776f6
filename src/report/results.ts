/**
 * The results folder every measuring tool writes (bench runs, simulator
 * sweeps): `results/<timestamp>/` with `args.json` (the command, every input,
 * the machine, the commit and the schema version) and `results.csv` (one row
 * per run or sweep point, every input a column), rows appended as each run
 * ends so an interrupted sweep keeps what it measured. `compare` reads two
 * such folders and refuses different schema versions.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bumped whenever a metric is renamed or its meaning changes. */
export const RESULTS_SCHEMA_VERSION = 2;

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

export function writeArgs(dir: string, args: Record<string, unknown>): void {
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
