/**
 * `npm run bench -- compare A B [--fail-above P%] [--metrics m,...] [--ignore col,...]`:
 * two results folders (bench or simulator sweeps) side by side
 * (src/report/compare.ts). Exit 0: compared (and nothing failed); 1: a metric
 * worse past --fail-above; 2: bad flags or folders that cannot be compared.
 */
import { parseArgs } from 'node:util';
import { compareResults, type CompareOptions } from '../src/report/compare.js';
import { ResultsError, readResults } from '../src/report/results.js';
import { MIN_RUNS_FOR_VERDICT } from '../src/report/stats.js';

export const COMPARE_HELP = `usage: npm run bench -- compare A B [options]
  A, B                     two results folders (results/<timestamp>/), from the bench or from simulator sweeps;
                           rows are matched by their configuration columns (every input of the run)
  --fail-above P%          exit 1 when a metric is worse than in A by more than P% (e.g. 5%), unless the
                           test calls the change noise; with fewer than ${MIN_RUNS_FOR_VERDICT} runs per side the change itself is judged
  --metrics m,...          only these metrics (default: every metric both folders have)
  --ignore col,...         leave these configuration columns out of the match (to compare across them)
  -h, --help               this text
Each metric knows whether higher or lower is better; the verdict is "better", "WORSE", "within noise"
or "?" (too few samples for the test: Mann-Whitney U needs ${MIN_RUNS_FOR_VERDICT} runs per side, --repeat ${MIN_RUNS_FOR_VERDICT}).`;

class UsageError extends Error {}

function list(raw: string | undefined, flag: string): string[] | null {
  if (raw === undefined) return null;
  const items = raw.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${flag}: empty name in '${raw}'`);
  return items;
}

function percent(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const text = raw.trim().replace(/%$/, '');
  const v = text === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(v) || v < 0 || v > 1000) throw new UsageError(`--fail-above must be a percentage like 5% (0..1000), got '${raw}'`);
  return v;
}

function parse(argv: readonly string[]): { help: boolean; a: string; b: string; opts: CompareOptions } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv], allowPositionals: true, strict: true,
      options: { 'fail-above': { type: 'string' }, metrics: { type: 'string' }, ignore: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new UsageError((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'bad arguments');
  }
  const { values, positionals } = parsed;
  const help = values.help === true;
  if (!help && positionals.length !== 2) throw new UsageError(`compare needs two results folders, got ${positionals.length} (see compare -h)`);
  return {
    help, a: positionals[0] ?? '', b: positionals[1] ?? '',
    opts: { failAbove_pct: percent(values['fail-above']), metrics: list(values.metrics, 'metrics'), ignore: list(values.ignore, 'ignore') ?? [] },
  };
}

/** Runs compare; returns the exit code. */
export function compareMain(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  try {
    const { help, a, b, opts } = parse(argv);
    if (help) {
      out(`${COMPARE_HELP}\n`);
      return 0;
    }
    const result = compareResults(readResults(a), readResults(b), opts);
    out(`${result.lines.join('\n')}\n`);
    return result.exitCode;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ResultsError) {
      err(`synod bench compare: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
