/** `npm run sim`: figures per seed, a replayable line per failing seed, and one-line errors for bad flags. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/sim/cli-main.js';
import { SIM_SCHEMA_VERSION } from '../src/sim/metrics.js';

/** The command line in this process (the same code `npm run sim` runs, minus the process exit). */
async function sim(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

async function refused(args: string[]): Promise<string> {
  const r = await sim(...args);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/^sim: /);
  return r.err.trim();
}

describe('sim CLI', () => {
  it('runs seeds and reports the contention figures, with a versioned JSON summary', async () => {
    const r = await sim('--seed', '42', '--replicas', '5', '--proposers', '3', '--seeds', '5', '--policy', 'exponential', '--base-ms', '1', '--cap-ms', '64', '--jitter', 'full', '--json');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seed 42: 5 replicas, 3 proposers; decided 15\/15, attempts\/proposal /m);
    const summary = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(summary).toMatchObject({ schema_version: SIM_SCHEMA_VERSION, policy: 'exponential', seeds: 5, violations: 0, liveness_failures: 0, decisions: 75 });
    for (const k of [
      'attempts_per_proposal', 'makespan_ms', 'wasted_ballots_per_proposal', 'rejections_per_proposal', 'messages_per_commit', 'fsyncs_per_commit',
      'latency_ms_p50', 'latency_ms_p90', 'latency_ms_p99', 'latency_ms_p999', 'latency_ms_max', 'duels', 'goodput_per_s', 'livelock_episodes', 'events_per_s',
    ]) expect(summary).toHaveProperty(k);
    expect(summary).not.toHaveProperty('ballots_per_decision');
  });

  it('prints a replay command for a failing seed and exits 1', async () => {
    const r = await sim('--seeds', '2', '--bug', 'acceptBelowPromise', '--policy', 'fixed');
    expect(r.code).toBe(1);
    const replay = r.out.split('\n').find((l) => l.includes('replay: npm run sim -- --seed'));
    expect(replay).toMatch(/^  replay: npm run sim -- --seed \d+ --seeds 1 --replicas \d --proposers \d --bug acceptBelowPromise --policy fixed$/);
  });

  it('as a process: exit code 2 and one line on stderr for a bad flag, 0 and the figures otherwise', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/sim/cli.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
    const bad = run('--latency', 'const:5');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("sim: --latency must be a duration like 200ms, 5s or 2m, got '5' (a bare number is refused: say the unit)\n");
    const good = run('--seeds', '1', '--workload', 'burst', '--faults', 'calm', '--latency', 'const:1ms', '--replicas', '3', '--proposers', '1');
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/^seed 1: 3 replicas, 1 proposers; decided 5\/5, attempts\/proposal 1,/);
  });

  const bad: string[][] = [
    ['--seeds', 'many'], ['--policy', 'nope'], ['--frobnicate'], ['--replicas', '3', '--proposers', '2000'], ['--jitter', 'wild'],
    ['--lease-ms', '5', '--drift-ms', '9'],
    ['--latency', 'bogus:1ms'], ['--latency', 'const:5'], ['--latency', 'normal:10ms'], ['--latency', 'uniform:8ms-2ms'], ['--latency', 'lognormal:10ms,9'],
    ['--link', '0-1=const:5ms'], ['--latency', 'const:1ms', '--link', '0-7=const:5ms', '--replicas', '3'], ['--latency', 'const:1ms', '--link', '0~1=const:5ms'],
    ['--workload', 'nope'], ['--workload', 'closed', '--rate', '10'], ['--workload', 'open', '--proposals', '3'], ['--conflict', '150'],
    ['--workload', 'open', '--duration', '5'], ['--workload', 'open', '--rate', '1000000', '--duration', '1h'], ['--processing', '-1ms'],
    ['--isolate', 'zero'], ['--isolate', '9@10ms', '--replicas', '3'], ['--isolate', '0@2s', '--fault-ms', '1000'], ['--after-lost-slot', 'sometimes'], ['--policy', 'leader', '--after-lost-slot', 'backoff'], ['--after-loss', 'backoff'],
    ['--base-ms', '5s'], ['--base-ms', 'x'], ['--multiplier', '0.5'], ['--window', '1.5'], ['--delay-ms', '-1', '--policy', 'fixed'],
    ['--attempt-timeout', '20'], ['--policy', 'fixed', '--jitter', 'full'], ['--policy', 'immediate', '--delay-ms', '3'],
    ['--baseline', 'jitter=full'], ['--threads', '2'],
  ];
  for (const args of bad) {
    it(`rejects ${args.join(' ')} with a one-line reason`, async () => {
      await refused(args);
    });
  }

  it('says why a policy flag is refused', async () => {
    expect(await refused(['--policy', 'fixed', '--jitter', 'full'])).toBe('sim: --jitter does not apply to policy fixed (it reads --delay-ms, --window, --after-lost-slot)');
    expect(await refused(['--policy', 'leader', '--after-lost-slot', 'backoff'])).toBe(
      'sim: --after-lost-slot does not apply to policy leader (it reads --base-ms, --cap-ms, --heartbeat-ms, --election-timeout-ms, --window)',
    );
    expect(await refused(['--after-lost-slot', 'later'])).toBe("sim: --after-lost-slot must be one of now, backoff, got 'later'");
    expect(await refused(['--base-ms', '5s'])).toBe("sim: --base-ms must be a number of milliseconds, got '5s'");
  });
});

describe('sim CLI sweeps: refused before any work', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--sweep', 'nokey=1,2'], /'nokey' is not a run parameter/],
    [['--sweep', 'jitter'], /--sweep must look like key=a,b,c/],
    [['--sweep', 'policy=fixed,exponential', '--jitter', 'full'], /^sim: sweep point policy=fixed: --jitter does not apply to policy fixed/],
    [['--policy', 'fixed', '--sweep', 'base-ms=1,2'], /^sim: sweep point base-ms=1: --base-ms does not apply to policy fixed/],
    [['--sweep', 'workload=burst,open', '--sweep', 'proposals=1,2'], /^sim: sweep point workload=open proposals=1: --proposals does not apply to workload open/],
    [['--sweep', 'jitter=none,full', '--jitter', 'full'], /--jitter is both set and swept/],
    [['--sweep', 'jitter=none,none'], /a value twice/],
    [['--sweep', 'nopolicy:jitter=none'], /'nopolicy' is not a policy/],
    [['--sweep', 'latency=const:1ms;bogus'], /^sim: sweep point latency=bogus: --latency must be/],
    [['--sweep', 'jitter=none,full', '--threads', '0'], /--threads must be an integer in 1\.\.64/],
    [['--sweep', 'jitter=none,full', '--baseline', 'jitter=equal'], /--baseline jitter=equal: jitter is swept over none,full/],
    [['--sweep', 'jitter=none,full', '--compare', 'speed'], /--compare: unknown metric 'speed'/],
    [['--sweep', 'jitter=none,full', '--trace'], /--trace does not apply to a sweep/],
  ];
  for (const [args, reason] of cases) {
    it(`refuses ${args.join(' ')}`, async () => {
      const out = mkdtempSync(join(tmpdir(), 'sim-refused-'));
      expect(await refused([...args, '--seeds', '2', '--out', out])).toMatch(reason);
      expect(readdirSync(out)).toEqual([]);
    });
  }
});
