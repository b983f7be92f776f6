/**
 * `npm run calibrate`: the network fitted to what the bench measures (exact
 * arithmetic), the simulator's side of the comparison on that network, and
 * bad flags refused with one line (exit 2) before any work.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fitNetwork, parseCalibrate, simulated } from '../bench/calibrate.js';
import type { Limit } from '../bench/limit.js';

const LIMIT: Limit = { workers: 3, rtt_us: 30, rtt_us_p99: 76.6, msgs_per_s: 250_000, batched_msgs_per_s: 500_000, batch: 64, bare_loop_decisions_per_s: { 1: 100_000 }, bare_two_phase_us: 70, post_to_idle_us: 10, post_to_busy_us: 2 };

describe('calibrate', () => {
  it('fits one-way latency to half the round trip, its spread to the p50-p99 gap, and the per-message cost to CPU per message', () => {
    const fit = fitNetwork(LIMIT, { attempts_per_proposal: 1, latency_us_p50: 90, latency_us_p99: 200, decisions_per_s: 10_000, cpu_us_per_decision: 120, messages_per_decision: 8 });
    // (76.6 - 30) / 2 / 2.33 = 10 us; 120 us over 8 messages = 15 us each.
    expect(fit).toEqual({ rtt_us: 30, rtt_us_p99: 76.6, latency: 'normal:15us,10us', processing_us: 15 });
  });

  it("the simulator's side: every policy decides on the fitted network, leader with one ballot per value", () => {
    const o = parseCalibrate(['--seeds', '2', '--sim-duration', '50ms']);
    const fit = { rtt_us: 30, rtt_us_p99: 76.6, latency: 'normal:15us,10us', processing_us: 15 };
    const leader = simulated(o, 'leader', fit);
    expect(leader.unfinished).toBe(0);
    expect(leader.attempts_per_proposal).toBe(1);
    expect(leader.decisions_per_s).toBeGreaterThan(0);
    const fixed = simulated(o, 'fixed', fit);
    expect(fixed.unfinished).toBe(0);
    // Three proposers racing for every slot: more than one ballot per value.
    expect(fixed.attempts_per_proposal).toBeGreaterThan(1);
  });

  const bad: Array<[string[], string]> = [
    [['--replicas', '0'], "synod calibrate: --replicas must be an integer in 1..9, got '0'"],
    [['--proposers', '4'], "synod calibrate: --proposers must be an integer in 1..3, got '4'"],
    [['--duration', '2'], "synod calibrate: --duration must be a duration like 200ms, 5s or 2m, got '2' (a bare number is refused: say the unit)"],
    [['--policies', 'leader'], 'synod calibrate: --policies needs at least two policies to order'],
    [['--policies', 'leader,nope'], "synod calibrate: --policies: 'nope' is not a policy (immediate, fixed, exponential, leader, lease)"],
    [['--frobnicate'], "synod calibrate: Unknown option '--frobnicate'"],
  ];
  for (const [args, line] of bad) {
    it(`refuses ${args.join(' ')} with one line, exit 2`, () => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/calibrate.ts', ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`${line}\n`);
    });
  }
});
