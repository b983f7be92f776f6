/**
 * Proposer-only nodes in the simulator (`--proposers` above `--replicas`):
 * nodes replicas .. proposers-1 propose and learn but never vote. Across
 * 1,000 swarm seeds (loss, duplication, partitions, crashes and restarts,
 * every policy) no such node sends a Promise or an Accepted, the invariants
 * (only-acceptors-vote among them) see nothing, and every value is decided.
 */
import { describe, expect, it } from 'vitest';
import { POLICY_NAMES, policySpec } from '../src/contention/registry.js';
import { runSimulation } from '../src/sim/simulator.js';
import { runCli } from '../src/sim/cli-main.js';

const SEEDS = 1000;

describe('proposer-only nodes', () => {
  it(`never vote across ${SEEDS} swarm seeds, and their values are decided`, () => {
    let votes = 0;
    let prepares = 0;
    const violations: string[] = [];
    const stalled: number[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const replicas = seed % 2 === 0 ? 3 : 5;
      const policy = POLICY_NAMES[seed % POLICY_NAMES.length] as string;
      // `immediate` livelocks often; its runs are cut at 20,000 events (safety is checked on every one of them).
      const maxEvents = policy === 'immediate' ? 20_000 : 2_000_000;
      const r = runSimulation({ seed, replicas, proposers: replicas + 1 + (seed % 4), policy: policySpec(policy), proposalsPerProposer: 3, maxEvents });
      votes += r.proposerOnlySent.votes;
      prepares += r.proposerOnlySent.prepares;
      for (const v of r.violations) violations.push(`seed ${seed}: ${v.invariant}: ${v.detail}`);
      if (policy !== 'immediate' && r.livenessFailure !== null) stalled.push(seed);
    }
    expect(violations).toEqual([]);
    expect(votes).toBe(0);
    expect(stalled).toEqual([]);
    // They did take part: the per-slot policies' proposer-only nodes ran phase 1 themselves.
    expect(prepares).toBeGreaterThan(1000);
  }, 120_000);

  it('50 proposers against 5 acceptors: every value decided, a majority of 5 chooses', () => {
    const r = runSimulation({
      seed: 3, replicas: 5, proposers: 50, faults: 'calm', workload: { kind: 'burst', proposalsPerProposer: 1 },
      latency: { kind: 'normal', mean_ms: 10, sd_ms: 2 }, policy: policySpec('exponential', { base_ms: 5, cap_ms: 2000, jitter: 'full' }),
    });
    expect(r.violations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    expect([r.proposals, r.decided, r.slotsChosen]).toEqual([50, 50, 50]);
    expect(r.proposerOnlySent.votes).toBe(0);
  });

  it('the command line takes --proposers above --replicas', async () => {
    let out = '';
    const code = await runCli(['--seeds', '1', '--replicas', '3', '--proposers', '7', '--workload', 'burst', '--proposals', '1', '--faults', 'calm', '--latency', 'const:1ms'], {
      out: (t) => void (out += t), err: (t) => void (out += t),
    });
    expect(code).toBe(0);
    expect(out).toMatch(/^seed 1: 3 replicas, 7 proposers; decided 7\/7,/);
  });
});
