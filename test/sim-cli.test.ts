/** `npm run sim`: figures per seed, a replayable line per failing seed, and one-line errors for bad flags. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function sim(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('sim CLI', () => {
  it('runs seeds and reports the contention figures', () => {
    const r = sim('--seed', '42', '--replicas', '5', '--proposers', '3', '--seeds', '5', '--policy', 'exponential', '--base-ms', '1', '--cap-ms', '64', '--jitter', 'full', '--json');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seed 42: 5 replicas, 3 proposers; decided 15\/15, ballots\/decision/m);
    const summary = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(summary).toMatchObject({ policy: 'exponential', seeds: 5, violations: 0, liveness_failures: 0, decisions: 75 });
    for (const k of ['ballots_per_decision', 'rejections', 'first_decision_ms_p50', 'livelock_episodes']) expect(summary).toHaveProperty(k);
  });

  it('prints a replay command for a failing seed and exits 1', () => {
    const r = sim('--seeds', '2', '--bug', 'acceptBelowPromise', '--policy', 'fixed');
    expect(r.code).toBe(1);
    const replay = r.out.split('\n').find((l) => l.includes('replay: npm run sim -- --seed'));
    expect(replay).toContain('--bug acceptBelowPromise');
  });

  for (const bad of [['--seeds', 'many'], ['--policy', 'nope'], ['--frobnicate'], ['--replicas', '3', '--proposers', '4'], ['--jitter', 'wild'], ['--lease-ms', '5', '--drift-ms', '9']]) {
    it(`rejects ${bad.join(' ')} with a one-line reason`, () => {
      const r = sim(...bad);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^sim: /);
    });
  }
});
