/**
 * A sweep over --batch-max: the report leads with commands/s and CPU per
 * command (a slot of 64 commands is not one unit of work); without batching
 * the per-command twins repeat the per-slot figures and stay out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findings } from '../src/report/findings.js';
import { plotSpecs } from '../src/report/plots.js';
import { batchedRuns, readResults } from '../src/report/results.js';
import { writeFixture } from './support/results-fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'synod-report-batching-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Slots/s fall as batches grow while commands/s rise: 300k slots/s at 1 per slot, 30k at 8, 10k at 64. */
const SLOTS: Record<string, number> = { 1: 300_000, 8: 30_000, 64: 10_000 };

function sweep(name: string, perSlot: (b: number) => number): ReturnType<typeof readResults> {
  const dir = writeFixture(join(scratch, name), {
    tool: 'bench', samples: 1, perSample: true, center: 'median', swept: ['batch_max'],
    configs: [1, 8, 64].map((b) => ({ batch_max: b })),
    metrics: {
      decisions_per_s: (c) => SLOTS[String(c.batch_max)] ?? 0,
      commands_per_s: (c) => (SLOTS[String(c.batch_max)] ?? 0) * perSlot(Number(c.batch_max)),
      commands_per_decision: (c) => perSlot(Number(c.batch_max)),
      cpu_us_per_decision: (c) => 4 * perSlot(Number(c.batch_max)),
      cpu_us_per_command: () => 4,
      latency_us_p99: (c) => 1000 * Number(c.batch_max),
    },
  });
  return readResults(dir);
}

const plotted = (set: ReturnType<typeof readResults>): string[] => plotSpecs(set, {}).map((p) => p.id);

describe('the report of a batching sweep', () => {
  it('leads with commands/s and plots commands/s and CPU per command', () => {
    const set = sweep('batched', (b) => b);
    expect(batchedRuns(set)).toBe(true);
    expect(plotted(set)).toEqual(['metric-commands_per_s', 'metric-latency_us_p99', 'metric-cpu_us_per_command']);
    const said = findings(set);
    // The worst is batch 8: 30,000 slots of 8 commands, 240,000 commands/s.
    expect(said[0]).toBe('Best batch_max by throughput: batch_max=64 (640,000), 167% above batch_max=8.');
    expect(said[1]).toBe('Best throughput: batch_max=64, 640,000 commands/s.');
  });

  it('without batching plots decisions/s and CPU per decision', () => {
    const set = sweep('unbatched', () => 1);
    expect(batchedRuns(set)).toBe(false);
    expect(plotted(set)).toEqual(['metric-decisions_per_s', 'metric-latency_us_p99', 'metric-cpu_us_per_decision']);
    expect(findings(set)[0]).toBe('Best batch_max by throughput: batch_max=1 (300,000), 2900% above batch_max=64.');
  });
});
