/**
 * Attempts are counted per proposal, across slots: a value that loses slot 0
 * to a rival and wins slot 1 reports every ballot started on its behalf, and
 * its backoff exponent keeps growing across slots (losing a slot counts as a
 * failure). `afterLostSlot: 'backoff'` makes the loser wait before the next slot.
 */
import { describe, expect, it } from 'vitest';
import { policySpec } from '../src/contention/registry.js';
import { MsgType } from '../src/paxos/messages.js';
import type { PerSlotProposer } from '../src/paxos/proposer.js';
import { ScriptedNet, type InFlight } from './support/scripted-net.js';

/** n0 proposes A, n1 proposes B; B is chosen in slot 0 first, then A learns it from n2 and moves to slot 1. */
function duel(policy = policySpec('immediate')): ScriptedNet {
  const net = new ScriptedNet(3, policy, { attemptTimeout_ms: 1e9, sync_ms: 1e9 });
  net.propose(0, 'A');
  net.propose(1, 'B');
  // B's ballot (r1.n1) is above A's (r1.n0): n2 promises to B, B is accepted by n1 and n2 and chosen.
  net.deliver((m) => m.from === 1 && m.to === 2 && m.msg.t === MsgType.Prepare);
  net.deliver((m) => m.from === 2 && m.to === 1 && m.msg.t === MsgType.Promise);
  net.deliver((m) => m.from === 1 && m.to === 2 && m.msg.t === MsgType.Accept);
  net.deliver((m) => m.from === 2 && m.to === 1 && m.msg.t === MsgType.Accepted);
  expect(net.replica(1).decided(0)).toBe('B');
  net.deliver((m) => m.from === 1 && m.to === 2 && m.msg.t === MsgType.Decide);
  // A's prepare reaches n2, which knows slot 0 is decided: it answers with the decision.
  net.deliver((m) => m.from === 0 && m.to === 2 && m.msg.t === MsgType.Prepare);
  net.deliver((m) => m.from === 2 && m.to === 0 && m.msg.t === MsgType.Decide);
  expect(net.replica(0).decided(0)).toBe('B');
  return net;
}

const fifo = (_inflight: InFlight[]): number => 0;

describe('attempts per proposal', () => {
  it('a proposer that loses slot 0 and wins slot 1 reports the ballots of both', () => {
    const net = duel();
    net.run(fifo, 10_000);
    const a = net.decisions.find((d) => d.node === 0 && d.value === 'A');
    const b = net.decisions.find((d) => d.node === 1 && d.value === 'B');
    expect(a).toEqual({ node: 0, slot: 1, value: 'A', ballots: 2 });
    expect(b).toEqual({ node: 1, slot: 0, value: 'B', ballots: 1 });
    expect(net.checker.violations).toEqual([]);
  });

  it('after a lost slot the failure count carries on (the backoff exponent grows across slots)', () => {
    const net = duel(policySpec('exponential', { jitter: 'none', base_ms: 2, cap_ms: 1000 }));
    const p = net.replica(0).role as PerSlotProposer;
    // Default afterLostSlot 'now': A went straight to slot 1 with one failure (the lost slot) and one ballot carried.
    const inst = p.state.instances.get(1);
    expect(inst).toMatchObject({ slot: 1, own: 'A', ballots: 2, failures: 1 });
  });

  it("afterLostSlot 'backoff': the loser waits the policy's delay for its failure count, then tries the next slot", () => {
    const net = duel(policySpec('exponential', { jitter: 'none', base_ms: 2, cap_ms: 1000, after_lost_slot: 'backoff' }));
    const p = net.replica(0).role as PerSlotProposer;
    // One failure so far (the lost slot): jitter none waits exactly base_ms * 2^0 = 2 ms before slot 1.
    expect([...p.state.deferred]).toEqual([['A', { carry: { ballots: 1, failures: 1 }, at: 2 }]]);
    expect(p.state.instances.size).toBe(0);
    expect(net.replica(0).nextDeadline()).toBe(2);
    net.runUntil(10);
    const a = net.decisions.find((d) => d.node === 0 && d.value === 'A');
    expect(a).toEqual({ node: 0, slot: 1, value: 'A', ballots: 2 });
    expect(net.checker.violations).toEqual([]);
  });
});
