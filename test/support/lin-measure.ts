/**
 * Measures the linearizability checker on generated histories (the figures in
 * docs/reliability.md): `npx tsx test/support/lin-measure.ts [--bare]`.
 * One line per history: model, shape, what was planted, verdict, steps, time.
 * `--bare` also runs the seed-1 histories without the models' preparation
 * (the plain Wing-Gong search), under the same 30 s bound.
 */
import { checkLinearizable, type CheckResult } from '../../src/verify/linearizability.js';
import { kvModel, listModel } from '../../src/verify/kv-models.js';
import { listHistory, plantList, plantStaleRegisterRead, registerHistory, type HistoryShape, type ListViolation } from './histories.js';

const MAX_MS = 30_000;
const bare = process.argv.includes('--bare');

function line(label: string, r: CheckResult, prepared: boolean): void {
  const why = r.result === 'ok' ? '' : ` (${r.partition})`;
  console.log(`${label.padEnd(58)} ${prepared ? 'prepared' : 'bare    '} ${(r.result + why).padEnd(14)} steps ${String(r.steps).padStart(9)} ${r.elapsed_ms.toFixed(0).padStart(6)} ms`);
}

/** Prepared always; bare too with --bare, on seed 1 only (most bare runs take the whole 30 s bound). */
function measure(label: string, seed: number, run: (prepare: boolean) => CheckResult): void {
  line(label, run(true), true);
  if (bare && seed === 1) line(label, run(false), false);
}

const shapes: Partial<HistoryShape>[] = [
  { clients: 50, ops: 2000, keys: 3 },
  { clients: 50, ops: 10_000, keys: 3 },
  { clients: 10, ops: 2000, keys: 3 },
  { clients: 10, ops: 2000, keys: 3, unknownShare: 0 },
];
for (const shape of shapes) {
  for (const seed of [1, 2, 3]) {
    const s = { ...shape, seed };
    const name = `lists c${s.clients} n${s.ops} k${s.keys} t${(s.unknownShare ?? 0.02) * 100}% s${seed}`;
    const good = listHistory(s);
    measure(`${name} good`, seed, (prepare) => checkLinearizable(listModel, good, { prepare, maxMs: MAX_MS }));
    for (const v of ['stale-read', 'lost-append', 'reordered-appends'] as ListViolation[]) {
      const bad = plantList(good, v).ops;
      measure(`${name} ${v}`, seed, (prepare) => checkLinearizable(listModel, bad, { prepare, maxMs: MAX_MS }));
    }
  }
}
for (const shape of [{ clients: 50, keys: 3 }, { clients: 30, keys: 3 }, { clients: 50, keys: 10 }, { clients: 10, keys: 3 }]) {
  const s = { ...shape, ops: 2000, seed: 1 };
  const name = `registers c${s.clients} n${s.ops} k${s.keys} t2% s1`;
  const good = registerHistory(s);
  measure(`${name} good`, 1, (prepare) => checkLinearizable(kvModel, good, { prepare, maxMs: MAX_MS }));
  const bad = plantStaleRegisterRead(good).ops;
  measure(`${name} stale-read`, 1, (prepare) => checkLinearizable(kvModel, bad, { prepare, maxMs: MAX_MS }));
}
