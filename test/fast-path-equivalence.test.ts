/**
 * (From an independent review.) The stable leader's propose fast path (0498a99, 3e07473)
 * must do exactly what the queue -> pump -> fillWindow path did. Differential:
 * the same seeded simulations run once with the current propose and once with
 * the pre-0498a99 propose patched in, and must replay event for event (same
 * event hash, same printable trace of every delivery with its wire form, same
 * decisions), under swarm faults (crashes and restarts, so leader recovery and
 * re-proposal below nextSlot), leases, small windows, forgetting and snapshots.
 * The fast path must also actually be taken in these runs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policySpec } from '../src/contention/registry.js';
import { StableLeader } from '../src/paxos/leader.js';
import type { Value } from '../src/paxos/messages.js';
import { runSimulation, type SimConfig, type SimResult } from '../src/sim/simulator.js';

const current = StableLeader.prototype.propose;

/** The propose of 1e61cbd, verbatim but for the private calls. */
function slowPropose(this: StableLeader, value: Value, now: number): boolean {
  const st = this.state;
  const cfg = (this as unknown as { node: { cfg: { maxPending: number } } }).node.cfg;
  if (st.pending.has(value) || st.forwarded.has(value)) return true;
  if (st.pending.size + st.forwarded.size >= cfg.maxPending) return false;
  if (st.pending.size === 0) st.batchSince = now;
  st.pending.set(value, true);
  (this as unknown as { pump(now: number): void }).pump(now);
  return true;
}

let fastHits = 0;
/** The current propose, counting the calls that take the fast path. */
function countingPropose(this: StableLeader, value: Value, now: number): boolean {
  const st = this.state;
  const node = (this as unknown as { node: { cfg: { batchMax: number; maxPending: number }; policy: { window: number } } }).node;
  const dup = (st.pending.size > 0 && st.pending.has(value)) || (st.forwarded.size > 0 && st.forwarded.has(value));
  if (!dup && st.pending.size + st.forwarded.size < node.cfg.maxPending && st.role === 'leading' && st.pending.size === 0 && node.cfg.batchMax === 1 && st.instances.size < node.policy.window) fastHits++;
  return current.call(this, value, now);
}

afterEach(() => {
  StableLeader.prototype.propose = current;
});

function run(cfg: SimConfig, impl: typeof current): SimResult {
  StableLeader.prototype.propose = impl;
  try {
    return runSimulation({ ...cfg, traceTail: 1_000_000 });
  } finally {
    StableLeader.prototype.propose = current;
  }
}

const CASES: Array<[string, (seed: number) => SimConfig]> = [
  ['leader, window 1', (seed) => ({ seed, replicas: seed % 2 === 0 ? 3 : 5, proposers: 2 + (seed % 3), policy: policySpec('leader') })],
  ['leader, window 4', (seed) => ({ seed, replicas: 3, proposers: 3, policy: policySpec('leader', { window: 4 }), proposalsPerProposer: 12 })],
  ['lease, window 3', (seed) => ({ seed, replicas: 3, proposers: 4, policy: policySpec('lease', { window: 3 }), proposalsPerProposer: 10 })],
  [
    'leader, window 2, retain 3, snapshots every 4',
    (seed) => ({ seed, replicas: 3, proposers: 4, policy: policySpec('leader', { window: 2 }), retainDecided: 3, snapshotEvery: 4, proposalsPerProposer: 10, maxEvents: 300_000 }),
  ],
];

describe('the leader fast path replays the queue path event for event', () => {
  for (const [name, cfgOf] of CASES) {
    it(`${name}: 60 swarm seeds identical with and without the fast path`, () => {
      const diffs: string[] = [];
      fastHits = 0;
      for (let seed = 31_000; seed < 31_060; seed++) {
        const cfg = cfgOf(seed);
        const fast = run(cfg, countingPropose);
        const slow = run(cfg, slowPropose);
        if (fast.eventHash !== slow.eventHash || fast.trace.join('\n') !== slow.trace.join('\n') || fast.decided !== slow.decided || fast.slotsChosen !== slow.slotsChosen) {
          diffs.push(`seed ${seed}: hash ${fast.eventHash} vs ${slow.eventHash}`);
        }
        expect(fast.violations, `seed ${seed}`).toEqual([]);
      }
      expect(diffs).toEqual([]);
      expect(fastHits).toBeGreaterThan(100);
    });
  }
});
