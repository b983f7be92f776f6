/**
 * The core split by role (src/paxos): role transitions assert the state they
 * leave, the fingerprint the model checker trusts covers every state field,
 * and the model checker's state counts are pinned (stateright pins
 * `unique_state_count()` the same way): a change in a count is a change in
 * behaviour or in what the fingerprint distinguishes, and must be explained in
 * docs/model-checking.md.
 */
import { describe, expect, it } from 'vitest';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import { CHECK_POLICY_DEFAULTS, type ModelConfig } from '../src/check/model.js';
import { check } from '../src/check/search.js';
import { FINGERPRINTED, fingerprint } from '../src/paxos/introspect.js';
import type { StableLeader } from '../src/paxos/leader.js';
import { MsgType } from '../src/paxos/messages.js';
import type { PerSlotProposer } from '../src/paxos/proposer.js';
import { Replica } from '../src/paxos/replica.js';
import { ScriptedNet } from './support/scripted-net.js';

function leaderReplica(): Replica {
  return Replica.start({ id: 0, nodes: 3, policy: createPolicy(policySpec('leader')), random: () => 0.5 }, 0);
}

describe('role transitions assert the role they leave', () => {
  it('an idle node cannot become leader or step down; a leading one cannot start phase 1', () => {
    const r = leaderReplica();
    const role = r.role as StableLeader;
    // The transitions are private: drive them as the role itself would, through a cast.
    const t = role as unknown as { becomeLeader(now: number): void; stepDown(now: number, why: string): void; becomeCandidate(now: number): void };
    expect(role.state.role).toBe('idle');
    expect(() => t.becomeLeader(0)).toThrow('becomeLeader from idle: only a preparing node may lead');
    expect(() => t.stepDown(0, 'nack')).toThrow('stepDown (nack) from idle: nothing to step down from');
    t.becomeCandidate(0);
    expect(role.state.role).toBe('preparing');
    expect(() => t.becomeCandidate(0)).toThrow('becomeCandidate from preparing: only an idle node may start phase 1');
    t.becomeLeader(0);
    expect(role.state.role).toBe('leading');
    expect(() => t.becomeCandidate(0)).toThrow('becomeCandidate from leading: only an idle node may start phase 1');
    expect(() => t.becomeLeader(0)).toThrow('becomeLeader from leading: only a preparing node may lead');
  });

  it('the legal path: a heartbeat timer makes node 0 a candidate, a quorum of promises a leader', () => {
    const net = new ScriptedNet(3, 'leader', { attemptTimeout_ms: 1e9, sync_ms: 1e9 });
    net.replica(0).tick(0);
    net.flush(0);
    expect((net.replica(0).role as StableLeader).state.role).toBe('preparing');
    net.deliver((m) => m.to === 1 && m.msg.t === MsgType.Prepare);
    net.deliver((m) => m.from === 1 && m.msg.t === MsgType.Promise);
    expect((net.replica(0).role as StableLeader).state.role).toBe('leading');
  });
});

describe('a leading node takes a command straight into a slot when it can', () => {
  it('room in the window and nothing queued: the Accept goes out in the same step, nothing waits in the queue; a full window queues', () => {
    const net = new ScriptedNet(3, policySpec('leader', { window: 2 }), { attemptTimeout_ms: 1e9, sync_ms: 1e9 });
    net.replica(0).tick(0);
    net.flush(0);
    net.deliver((m) => m.to === 1 && m.msg.t === MsgType.Prepare);
    net.deliver((m) => m.from === 1 && m.msg.t === MsgType.Promise);
    const st = (net.replica(0).role as StableLeader).state;
    expect(st.role).toBe('leading');
    const accepts = (): string[] => net.log.filter((m) => m.from === 0 && m.to === 1 && m.msg.t === MsgType.Accept).map((m) => (m.msg as { value: string }).value);
    for (const v of ['a', 'b', 'c']) net.propose(0, v);
    // a and b took the window's two slots at once; c waits for one of them to be decided.
    expect(accepts()).toEqual(['a', 'b']);
    expect([...st.instances.keys()]).toEqual([0, 1]);
    expect([...st.pending.keys()]).toEqual(['c']);
    net.deliver((m) => m.to === 1 && m.msg.t === MsgType.Accept && (m.msg as { value: string }).value === 'a');
    net.deliver((m) => m.from === 1 && m.msg.t === MsgType.Accepted && (m.msg as { slot: number }).slot === 0);
    expect(accepts()).toEqual(['a', 'b', 'c']);
    expect([...st.pending.keys()]).toEqual([]);
    expect([...st.instances.keys()]).toEqual([1, 2]);
  });
});

/** Own enumerable keys of a plain state object. */
const keysOf = (o: object): string[] => Object.keys(o).sort();

describe('the fingerprint covers every state field', () => {
  it('the state objects have exactly the fields the fingerprint writes (a new field must be added to it)', () => {
    const perSlot = Replica.start({ id: 0, nodes: 3, policy: createPolicy(policySpec('exponential')), random: () => 0.5 }, 0);
    const leader = leaderReplica();
    expect(keysOf(perSlot.node.ballots)).toEqual([...FINGERPRINTED.ballots].sort());
    expect(keysOf(perSlot.sync)).toEqual([...FINGERPRINTED.sync].sort());
    expect(keysOf((perSlot.role as PerSlotProposer).state)).toEqual([...FINGERPRINTED.perSlot].sort());
    expect(keysOf((leader.role as StableLeader).state)).toEqual([...FINGERPRINTED.stableLeader].sort());
    perSlot.propose('v', 0);
    const inst = [...(perSlot.role as PerSlotProposer).state.instances.values()][0];
    expect(inst).toBeDefined();
    expect(keysOf(inst ?? {})).toEqual([...FINGERPRINTED.instance].sort());
    expect(keysOf(perSlot.catchUp.state)).toEqual([...FINGERPRINTED.catchUp].sort());
    // A transfer under way: the first chunk of a peer's snapshot starts one.
    const taker = Replica.start({ id: 0, nodes: 3, policy: createPolicy(policySpec('exponential')), random: () => 0.5, snapshots: true }, 0);
    taker.receive(1, { t: MsgType.SnapChunk, index: 5, size: 4, crc: 0, offset: 0, data: 'ab' }, 0);
    expect(keysOf(taker.catchUp.state.incoming ?? {})).toEqual([...FINGERPRINTED.transfer].sort());
  });

  it("decorrelated jitter's previous delay is in it: two replicas that differ only there differ in fingerprint", () => {
    const make = (): Replica =>
      Replica.start({ id: 0, nodes: 3, policy: createPolicy(policySpec('exponential', { jitter: 'decorrelated' })), random: () => 0.5 }, 0);
    const a = make();
    const b = make();
    expect(fingerprint(a, 0)).toBe(fingerprint(b, 0));
    (b.role as PerSlotProposer).state.backoffPrevious_ms = 7;
    expect(fingerprint(a, 0)).not.toBe(fingerprint(b, 0));
  });
});

describe('pinned model-checker state counts', () => {
  const base: ModelConfig = {
    replicas: 3, proposers: 2, values: 2, maxRound: 1, slots: 1, loss: true, dup: true, timers: true, crashes: 0,
    policy: policySpec('immediate', CHECK_POLICY_DEFAULTS), bugs: {},
  };
  const cases: Array<[string, Partial<ModelConfig>, number | undefined, number]> = [
    // [what (the CLI flags), config, depth bound, distinct states]
    ['--max-round 1', {}, undefined, 9_199],
    ['--max-round 1 --crashes 1 --no-loss --no-dup', { crashes: 1, loss: false, dup: false }, undefined, 108_623],
    ['--policy fixed --replicas 2 --max-round 2 --no-loss --no-dup', { replicas: 2, maxRound: 2, loss: false, dup: false, policy: policySpec('fixed', CHECK_POLICY_DEFAULTS) }, undefined, 6_026],
    ['--policy leader --max-round 2 --no-loss --max-depth 8', { maxRound: 2, loss: false, policy: policySpec('leader', CHECK_POLICY_DEFAULTS) }, 8, 9_442],
    ['--policy lease --max-round 2 --no-loss --max-depth 8', { maxRound: 2, loss: false, policy: policySpec('lease', CHECK_POLICY_DEFAULTS) }, 8, 7_568],
  ];
  for (const [flags, over, depth, distinct] of cases) {
    it(`npm run check -- ${flags}: ${distinct.toLocaleString('en-US')} distinct states, complete, no violation`, () => {
      const r = check({ ...base, ...over }, { order: 'bfs', maxStates: 1_000_000, ...(depth === undefined ? {} : { maxDepth: depth }) });
      expect(r.violation).toBeNull();
      expect(r.complete).toBe(true);
      expect(r.distinct).toBe(distinct);
    });
  }
});
