/**
 * `npm run bench -- --timeline FILE.svg`: a short real run on worker threads
 * (the runtime's ReplicaDriver over the MessageChannel mesh) drawn as a
 * ballot timeline: every proposer's first ballot is there, every replica
 * learns every value, each receipt is paired with its send; bad uses are
 * refused with one line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordRealTimeline } from '../bench/timeline.js';
import { policySpec } from '../src/contention/registry.js';
import { ballotBars, ballotName } from '../src/report/timeline-svg.js';

const scratch = mkdtempSync(join(tmpdir(), 'synod-bench-timeline-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bench(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the ballot timeline of a real run', () => {
  it('3 workers, 2 proposers: both first ballots, every value learned by every replica, each trip after its send', async () => {
    const { data, settled } = await recordRealTimeline({ replicas: 3, proposers: 2, policy: policySpec('exponential', { base_ms: 2, cap_ms: 20 }), seed: 1 });
    expect(settled).toBe(true);
    expect(data.truncatedAt).toBeNull();
    const firsts = ballotBars(data).filter((b) => b.slot === 0 && b.ballot < 2 * 65_536).map((b) => ballotName(b.ballot)).sort();
    expect(firsts).toEqual(['r1.n0', 'r1.n1']);
    const learned = new Set(data.events.filter((e) => e.kind === 'learn').map((e) => `n${e.node}:${e.value ?? ''}`));
    expect(learned).toEqual(new Set(['n0:n0.v0', 'n1:n0.v0', 'n2:n0.v0', 'n0:n1.v0', 'n1:n1.v0', 'n2:n1.v0']));
    // Each receipt was paired with its own send (a MessagePort delivers in order): a Prepare's trip starts at that prepare.
    const prepared = new Set(data.events.filter((e) => e.kind === 'prepare').map((e) => `${e.node}@${e.at}:${e.ballot}`));
    const trips = data.deliveries.filter((d) => d.t === 1);
    expect(trips.length).toBeGreaterThanOrEqual(2 * 2);
    expect(trips.filter((d) => !prepared.has(`${d.from}@${d.sent}:${d.ballot}`))).toEqual([]);
    // One clock for all workers (performance.timeOrigin + now): a message arrives after it leaves.
    for (const d of data.deliveries) expect(d.received).toBeGreaterThanOrEqual(d.sent);
  }, 60_000);

  it('the command line writes the SVG, and refuses what it cannot draw', () => {
    const file = join(scratch, 'real.svg');
    const ok = bench(['--timeline', file, '--replicas', '3', '--proposers', '3', '--policy', 'fixed', '--delay-ms', '5']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^timeline of a real run \\(\\d+ events\\) in ${file}\\n$`));
    const svg = readFileSync(file, 'utf8');
    expect(svg).toContain('Ballot timeline, worker runtime: fixed, 3 replicas, 3 proposers (one value each, at once)</text>');
    for (const [args, line] of [
      [['--timeline', join(scratch, 'x.png')], `synod bench: --timeline must name an .svg file, got '${join(scratch, 'x.png')}'`],
      [['--timeline', '/no/such/dir/x.svg'], 'synod bench: --timeline: directory /no/such/dir does not exist'],
      [['--timeline', file, '--sweep', 'proposers=1,2'], 'synod bench: --timeline draws one short run: drop --sweep and --repeat'],
    ] as const) {
      const r = bench([...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`${line}\n`);
    }
  }, 90_000);
});
