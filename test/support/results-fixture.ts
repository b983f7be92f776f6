/**
 * Results folders made up for tests (compare, the report in a browser), written
 * through the same src/report/results.ts calls the bench and the simulator use.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CsvWriter, RESULTS_FILE, SAMPLES_FILE, estimateCells, writeArgs, type Row, type Tool } from '../../src/report/results.js';
import { estimate } from '../../src/report/stats.js';

export interface FixtureSpec {
  tool: Tool;
  /** One row of configuration columns per configuration (every row has the same keys). */
  configs: Row[];
  /** Each metric's value for a configuration and a sample (repeat or seed). */
  metrics: Record<string, (config: Row, sample: number) => number>;
  samples: number;
  /** Keep runs.csv (the bench does; simulator sweeps keep only means and intervals). */
  perSample: boolean;
  center: 'median' | 'mean';
  swept?: string[];
  schema_version?: number;
}

export function writeFixture(dir: string, spec: FixtureSpec): string {
  mkdirSync(join(dir, 'runs'), { recursive: true });
  const configColumns = Object.keys(spec.configs[0] ?? {});
  const metricColumns = Object.keys(spec.metrics);
  writeArgs(dir, {
    tool: spec.tool, command: `fixture ${spec.tool}`, config_columns: configColumns, metric_columns: metricColumns, center: spec.center,
    sample_column: spec.perSample ? 'repeat' : null, swept_columns: spec.swept ?? [], commit: 'fixture',
    ...(spec.schema_version === undefined ? {} : { schema_version: spec.schema_version }),
  });
  const runs = spec.perSample ? new CsvWriter(dir, SAMPLES_FILE) : null;
  const results = new CsvWriter(dir, RESULTS_FILE);
  for (const config of spec.configs) {
    const values: Record<string, number[]> = {};
    for (let s = 0; s < spec.samples; s++) {
      const row: Row = { ...config, repeat: s };
      for (const [m, f] of Object.entries(spec.metrics)) {
        const v = f(config, s);
        (values[m] ??= []).push(v);
        row[m] = v;
      }
      runs?.append(row);
    }
    const out: Row = { ...config, samples: spec.samples };
    for (const m of metricColumns) Object.assign(out, estimateCells(m, estimate(values[m] ?? []), spec.center));
    results.append(out);
  }
  return dir;
}
