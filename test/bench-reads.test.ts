/**
 * The benchmark's reads (--reads P%, --read-consistency MODE): each mode's
 * read latency in the summary beside a direct query call and the round trip;
 * read metrics empty (null) in a run without reads. (Bad combinations are
 * refused with one line: among test/bench.test.ts's cases.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const scratch = mkdtempSync(join(tmpdir(), 'synod-bench-reads-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bench(args: string[], timeout_ms = 90_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], { encoding: 'utf8', timeout: timeout_ms });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Summary = { label: string; metrics: Record<string, number | null> };

it('--reads 50% in each mode: reads measured, none refused, and the table shows them', () => {
  const r = bench([
    '--policy', 'lease', '--proposers', '1', '--outstanding', '2', '--reads', '50%', '--sweep', 'read-consistency=linearizable,lease,stale',
    '--duration', '400ms', '--warmup', '200ms', '--out', join(scratch, 'r'), '--json', '--quiet',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  const summaries = JSON.parse(lines.at(-1) ?? '') as Summary[];
  expect(summaries.map((s) => s.label)).toEqual(['read-consistency=linearizable', 'read-consistency=lease', 'read-consistency=stale']);
  for (const s of summaries) {
    expect(s.metrics.reads as number, s.label).toBeGreaterThan(0);
    expect(s.metrics.reads_refused, s.label).toBe(0);
    for (const m of ['read_latency_us_p50', 'read_latency_us_p99', 'local_query_us_p50', 'read_latency_p50_vs_local', 'read_latency_p50_vs_rtt']) expect(s.metrics[m] as number, `${s.label} ${m}`).toBeGreaterThan(0);
  }
  expect(r.stdout).toMatch(/read p50 us +read p99 us +read\/local +read\/rtt/);
}, 120_000);

it('a run without reads has no read figures', () => {
  const r = bench(['--policy', 'leader', '--proposers', '1', '--duration', '200ms', '--warmup', '100ms', '--out', join(scratch, 'w'), '--json', '--quiet']);
  expect(r.code, r.stderr).toBe(0);
  // One configuration: one summary object, not an array.
  const s = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Summary;
  expect([s.metrics.reads, s.metrics.read_latency_us_p50, s.metrics.reads_refused]).toEqual([null, null, null]);
  expect(r.stdout).not.toContain('read p50 us');
}, 60_000);
