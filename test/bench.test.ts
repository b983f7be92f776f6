/**
 * The benchmark harness end to end, on a short run: summary JSON fields, one
 * CSV row per run, a report with a plot, agreement in the decisions file, and
 * one-line errors for bad options.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const scratch = mkdtempSync(join(tmpdir(), 'synod-bench-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bench(args: string[], timeout_ms = 50_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], { encoding: 'utf8', timeout: timeout_ms });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SUMMARY_FIELDS = [
  'policy', 'replicas', 'proposers', 'decisions', 'decisions_per_s', 'latency_us', 'ballots_per_decision',
  'messages_per_decision', 'limit', 'event_loop_delay_us_p99', 'ratio', 'machine', 'commit',
] as const;

describe('npm run bench', () => {
  it('runs a short sweep end to end', () => {
    const out = join(scratch, 'results');
    const decisions = join(scratch, 'decisions.jsonl');
    const r = bench([
      '--replicas', '3', '--duration', '1s', '--warmup', '300ms', '--sweep', 'policy=leader,exponential',
      '--proposers', '2', '--outstanding', '2', '--out', out, '--decisions', decisions, '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const summaries = JSON.parse(lines[lines.length - 1] ?? '') as Array<Record<string, unknown>>;
    expect(summaries).toHaveLength(2);
    for (const s of summaries) {
      for (const f of SUMMARY_FIELDS) expect(s, f).toHaveProperty(f);
      expect(Object.keys(s.latency_us as object)).toEqual(expect.arrayContaining(['p50', 'p90', 'p99', 'p999', 'max']));
      expect(Object.keys(s.ballots_per_decision as object)).toEqual(expect.arrayContaining(['mean', 'p99']));
      expect(Object.keys(s.limit as object)).toEqual(expect.arrayContaining(['rtt_us', 'msgs_per_s', 'batched_msgs_per_s', 'bare_loop_decisions_per_s']));
      expect(Object.keys(s.machine as object)).toEqual(expect.arrayContaining(['cpu', 'cores', 'node']));
      expect(s.decisions as number).toBeGreaterThan(0);
      expect(s.settled).toBe(true);
    }
    const [dir] = readdirSync(out);
    const root = join(out, dir ?? '');
    const csv = readFileSync(join(root, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 2);
    expect(existsSync(join(root, 'args.json'))).toBe(true);
    expect(readdirSync(join(root, 'runs'))).toHaveLength(2);
    const html = readFileSync(join(root, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);

    // With a sweep, one decisions file per run: every replica decided the same value in every slot.
    for (const f of [`${decisions}.1`, `${decisions}.2`]) {
      const bySlot = new Map<number, Map<number, string>>();
      for (const line of readFileSync(f, 'utf8').trim().split('\n')) {
        const d = JSON.parse(line) as { replica: number; slot: number; value: string };
        const m = bySlot.get(d.slot) ?? new Map<number, string>();
        expect(m.has(d.replica)).toBe(false);
        m.set(d.replica, d.value);
        bySlot.set(d.slot, m);
      }
      expect(bySlot.size).toBeGreaterThan(0);
      for (const [slot, m] of bySlot) {
        expect(m.size, `slot ${slot} decided on every replica`).toBe(3);
        expect(new Set(m.values()).size, `slot ${slot} has one value`).toBe(1);
      }
    }
  });

  it.each([
    [['--replicas', '0'], /--replicas must be an integer/],
    [['--policy', 'nope'], /--policy must be one of/],
    [['--duration', 'soon'], /--duration must be a duration/],
    [['--proposers', '4', '--replicas', '3'], /--proposers \(4\) must be at most --replicas \(3\)/],
    [['--sweep', 'bogus=1,2'], /--sweep must be key=a,b,c/],
    [['--frobnicate'], /unknown option --frobnicate/],
    [['--policy', 'lease', '--drift-ms', '200'], /drift_ms/],
    [['--conflict', '101'], /--conflict must be a number in 0..100/],
  ])('rejects %j with a one-line reason', (args, reason) => {
    const r = bench(args, 20_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(reason);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
