/**
 * `npm run bench -- compare A B`: a folder against itself shows no difference
 * and exits 0; a folder where one metric was halved names that metric and
 * exits 1 under --fail-above; folders of different schema versions or tools
 * are refused (exit 2) with one line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFixture, type FixtureSpec } from './support/results-fixture.js';
import { RESULTS_SCHEMA_VERSION } from '../src/report/results.js';

const scratch = mkdtempSync(join(tmpdir(), 'synod-compare-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function compare(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cli.ts', 'compare', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Two policies x two proposer counts, 5 runs each, with a little run-to-run noise. */
function bench(name: string, halve: { policy: string; proposers: number } | null, extra: Partial<FixtureSpec> = {}): string {
  const noise = (s: number): number => 1 + ((s * 7) % 5) / 100;
  const slow = (c: Record<string, unknown>): number => (halve !== null && c.policy === halve.policy && c.proposers === halve.proposers ? 0.5 : 1);
  return writeFixture(join(scratch, name), {
    tool: 'bench', center: 'median', samples: 5, perSample: true,
    configs: ['leader', 'lease'].flatMap((policy) => [1, 3].map((proposers) => ({ policy, proposers, base_ms: 1, seed: 1 }))),
    metrics: {
      decisions_per_s: (c, s) => 10_000 * slow(c) * noise(s) / Number(c.proposers),
      latency_us_p99: (c, s) => 500 * Number(c.proposers) * noise(s + 1),
      limit_rtt_us: (_c, s) => 30 * noise(s + 2),
    },
    ...extra,
  });
}

describe('npm run bench -- compare', () => {
  it('a folder against itself: no difference, exit 0', () => {
    const a = bench('self', null);
    const r = compare([a, a, '--fail-above', '5%']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // 4 configurations x 3 metrics, every one within noise (identical samples: p = 1).
    expect(r.stdout).toContain('12 comparisons: 0 better, 0 worse, 12 within noise, 0 different (no better direction), 0 without a verdict');
    expect(r.stdout).not.toMatch(/WORSE|better by/);
    expect(r.stdout).toContain('ok: no metric worse by more than 5%');
  });

  it('one metric halved in one configuration: named, and exit 1 past --fail-above', () => {
    const a = bench('a', null);
    const b = bench('b', { policy: 'lease', proposers: 3 });
    const r = compare([a, b, '--fail-above', '10%']);
    expect(r.code).toBe(1);
    const worse = r.stdout.split('\n').filter((l) => l.includes('WORSE'));
    expect(worse).toHaveLength(1);
    // Medians of 5 runs (10,000 / 3 proposers x noise 1.02); 5 against 5 completely apart: p = 2 / C(10, 5) = 0.008.
    expect(worse[0]).toMatch(/^ {2}decisions_per_s +3,400 +1,700 +0\.500 +WORSE by 50\.0% \(p=0\.008\)$/);
    expect(r.stdout).toMatch(/^FAIL: 1 worse by more than 10%: decisions_per_s at policy=lease proposers=3 \(B\/A 0\.500\)$/m);
    // Without a threshold the same comparison only reports.
    expect(compare([a, b]).code).toBe(0);
    // B against A: the halved metric doubled, which is better.
    const back = compare([b, a, '--fail-above', '10%']);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/decisions_per_s .* better by 100\.0%/);
  });

  it('too few runs for the rank test: says so, and --fail-above judges the change itself', () => {
    const a = bench('few-a', null, { samples: 3 });
    const b = bench('few-b', { policy: 'leader', proposers: 1 }, { samples: 3 });
    const r = compare([a, b, '--fail-above', '10%', '--metrics', 'decisions_per_s']);
    expect(r.stdout).toContain('n=3 vs 3: too few runs for the rank test (needs 4 per side)');
    expect(r.stdout).toContain('without a verdict: too few samples; --fail-above then judges the change itself');
    expect(r.code).toBe(1);
  });

  it('simulator sweeps (means and intervals only) are judged by Welch intervals', () => {
    const spec = (factor: number): FixtureSpec => ({
      tool: 'sim', center: 'mean', samples: 40, perSample: false, configs: [{ policy: 'exponential', proposers: 10, jitter: 'full' }],
      metrics: { attempts_per_proposal: (_c, s) => factor * (3 + (s % 4) / 10) },
    });
    const a = writeFixture(join(scratch, 'sim-a'), spec(1));
    const b = writeFixture(join(scratch, 'sim-b'), spec(2));
    const r = compare([a, b, '--fail-above', '20%']);
    expect(r.stdout).toContain("test: Welch's 95% interval of the difference of means");
    expect(r.stdout).toMatch(/attempts_per_proposal .* WORSE by 100\.0%/);
    expect(r.code).toBe(1);
  });

  it.each([
    [['only-one'], /compare needs two results folders, got 1/],
    [['/nonexistent/a', '/nonexistent/b'], /\/nonexistent\/a is not a results folder \(no args\.json\)/],
    [['--fail-above', 'lots', 'x', 'y'], /--fail-above must be a percentage like 5%/],
  ])('refuses %j with one line, exit 2', (args, reason) => {
    const r = compare(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(reason);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses folders of different schema versions or tools', () => {
    const a = bench('v-now', null);
    const old = bench('v-old', null, { schema_version: RESULTS_SCHEMA_VERSION - 1 });
    const r = compare([old, a]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`synod bench compare: A (${old}) has results schema ${RESULTS_SCHEMA_VERSION - 1}, B (${a}) has ${RESULTS_SCHEMA_VERSION}: metrics were renamed or redefined between them (CHANGELOG.md); measure both with one version\n`);
    const sim = bench('sim', null, { tool: 'sim' });
    expect(compare([a, sim]).stderr).toMatch(/was written by bench, B .* by sim: their metrics are not comparable/);
  });

  it('matches rows by configuration columns and explains a miss', () => {
    const a = bench('m-a', null);
    const b = writeFixture(join(scratch, 'm-b'), {
      tool: 'bench', center: 'median', samples: 4, perSample: true, configs: [{ policy: 'fixed', proposers: 1, base_ms: 1, seed: 1 }],
      metrics: { decisions_per_s: () => 1 },
    });
    const r = compare([a, b]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no configuration in common; they differ in policy \(A: leader\|lease, B: fixed\): pass --ignore policy to compare across/);
  });
});
