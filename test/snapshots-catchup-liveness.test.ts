/**
 * Catch-up that finishes (found by a review of the snapshot code): a transfer
 * under way is not thrown away because some peer took a newer snapshot, the
 * catching-up replica does not keep asking for chunk 0 again, and a transfer
 * no peer can serve (a chunk a faulty peer made up) is abandoned.
 */
import { describe, expect, it } from 'vitest';
import { MsgType } from '../src/paxos/messages.js';
import type { HeldSnapshot } from '../src/paxos/replica.js';
import { ScriptedNet, type InFlight } from './support/scripted-net.js';

const snap = (index: number, data: string): HeldSnapshot => ({ index, data, crc: 7 });

/** Nodes 0 and 1 decide `n` values without node 2, then each takes a snapshot at `n` and forgets below it. */
function behind(n: number, data: string, sync_ms = 1e9): ScriptedNet {
  const net = new ScriptedNet(3, 'immediate', { snapshots: true, retainDecided: 2, snapshotChunk_chars: 4, attemptTimeout_ms: 1e6, sync_ms });
  for (let i = 0; i < n; i++) decideWithout2(net, `v${i}`);
  for (const id of [0, 1]) {
    net.replica(id).snapshotTaken(snap(n, data));
    net.checker.snapshotAt(id, n);
  }
  expect(net.replica(2).firstUndecided).toBe(0);
  return net;
}

/** Nodes 0 and 1 decide `v`; node 2 hears none of it (cut off), and with `keep` its exchanges already in flight wait. */
function decideWithout2(net: ScriptedNet, v: string, keep = false): void {
  const involves2 = (m: InFlight): boolean => m.to === 2 || m.from === 2;
  const waiting = keep ? net.inflight.filter(involves2) : [];
  net.inflight = net.inflight.filter((m) => !involves2(m));
  net.propose(1, v);
  for (let k = 0; k < 1000 && net.inflight.length > 0; k++) {
    const m = net.inflight.shift() as InFlight;
    if (involves2(m)) continue;
    net.replica(m.to).receive(m.from, m.msg, net.now);
    net.flush(m.to);
  }
  net.inflight.push(...waiting);
}

const chunkTo2 = (m: InFlight): boolean => m.to === 2 && m.msg.t === MsgType.SnapChunk;
const requestFrom2 = (m: InFlight): boolean => m.from === 2 && m.msg.t === MsgType.SnapRequest;

/** Delivers the transfer's requests and chunks between node 2 and its peers until none is left. */
function pull(net: ScriptedNet): void {
  for (let k = 0; k < 100 && net.inflight.some((m) => chunkTo2(m) || requestFrom2(m)); k++) net.deliver((m) => chunkTo2(m) || requestFrom2(m));
}

describe('catch-up by snapshot finishes', () => {
  it('a transfer under way survives a newer snapshot elsewhere: no LearnRequest while it runs, a newer offer from another peer is dropped', () => {
    const net = behind(30, 'abcdefghij', 100); // 3 chunks of 4
    const r2 = net.replica(2);
    net.replica(1).receive(2, { t: MsgType.LearnRequest, slot: 0 }, net.now);
    net.flush(1);
    net.deliver(chunkTo2);
    net.deliver(requestFrom2);
    net.deliver(chunkTo2);
    expect(r2.catchUp.state.incoming).toMatchObject({ index: 30, received: 8, size: 10, from: 1 });
    // Node 0 takes one newer snapshot (31).
    decideWithout2(net, 'v30', true);
    net.replica(0).snapshotTaken(snap(31, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'));
    net.checker.snapshotAt(0, 31);
    // Node 2's anti-entropy timer fires twice: it asks no one while the transfer runs.
    for (let i = 0; i < 2; i++) {
      net.now = r2.sync.syncAt;
      r2.tick(net.now);
      net.flush(2);
    }
    expect(net.inflight.filter((m) => m.from === 2 && m.msg.t === MsgType.LearnRequest)).toEqual([]);
    // A LearnRequest sent before the transfer began, answered by node 0 now with its newer snapshot: dropped.
    const stale = r2.stats.staleMessages;
    net.replica(0).receive(2, { t: MsgType.LearnRequest, slot: 0 }, net.now);
    net.flush(0);
    net.deliver((m) => chunkTo2(m) && m.from === 0);
    expect(r2.stats.staleMessages).toBe(stale + 1);
    expect(r2.catchUp.state.incoming).toMatchObject({ index: 30, received: 8 });
    // The transfer ends with node 1's last chunk: snapshot 30 installed, 3 chunks sent in all (none again).
    pull(net);
    expect(net.installs.map((i) => [i.node, i.snapshot.index, i.snapshot.data])).toEqual([[2, 30, 'abcdefghij']]);
    expect(net.replica(1).stats.snapshotChunksSent).toBe(3);
    expect(r2.firstUndecided).toBe(30);
    expect(net.checker.violations).toEqual([]);
  });

  it('the sender that no longer holds the snapshot under way answers with its newer one, which replaces it', () => {
    const net = behind(30, 'abcdefghij');
    const r2 = net.replica(2);
    net.replica(1).receive(2, { t: MsgType.LearnRequest, slot: 0 }, net.now);
    net.flush(1);
    net.deliver(chunkTo2);
    // Node 1 takes two newer snapshots (it keeps its two latest: 30 is gone) before node 2's request arrives.
    decideWithout2(net, 'v30', true);
    net.replica(1).snapshotTaken(snap(31, 'klmnopqrst'));
    decideWithout2(net, 'v31', true);
    net.replica(1).snapshotTaken(snap(32, 'uvwxyzABCD'));
    pull(net);
    expect(net.installs.map((i) => [i.node, i.snapshot.index])).toEqual([[2, 32]]);
    expect(r2.firstUndecided).toBe(32);
  });

  it('a well-formed chunk for an index no peer holds is abandoned once every peer was asked; a real offer then catches up', () => {
    const net = behind(30, 'abcdefghij');
    const r2 = net.replica(2);
    r2.receive(0, { t: MsgType.SnapChunk, index: 2 ** 40, size: 8, crc: 1, offset: 0, data: 'xxxx' }, net.now);
    net.flush(2);
    net.inflight = [];
    expect(r2.catchUp.state.incoming).toMatchObject({ index: 2 ** 40, misses: 0 });
    // Each catch-up timeout (4 attempt timeouts) asks the next peer, which stays silent; the third gives up.
    const asked: number[] = [];
    for (let k = 0; k < 3; k++) {
      net.now += 4e6 + 1;
      r2.tick(net.now);
      net.flush(2);
      for (const m of net.inflight) if (requestFrom2(m)) asked.push(m.to);
      net.inflight = [];
    }
    expect(asked).toEqual([1, 0]);
    expect(r2.catchUp.state.incoming).toBeNull();
    expect(r2.stats.snapshotTransfersAbandoned).toBe(1);
    net.replica(1).receive(2, { t: MsgType.LearnRequest, slot: 0 }, net.now);
    net.flush(1);
    pull(net);
    expect(net.installs.map((i) => [i.node, i.snapshot.index])).toEqual([[2, 30]]);
    expect(r2.firstUndecided).toBe(30);
  });
});

describe('values a snapshot holds are no longer owed', () => {
  for (const policy of ['immediate', 'leader'] as const) {
    it(`${policy}: a value the installed snapshot holds is dropped, one it does not hold is proposed again`, () => {
      const net = new ScriptedNet(3, policy, { snapshots: true, attemptTimeout_ms: 1e6, sync_ms: 1e9 });
      const r2 = net.replica(2);
      r2.propose('held:1', net.now);
      r2.propose('not-held:2', net.now);
      net.flush(2);
      expect(r2.outstanding).toBe(2);
      r2.snapshotInstalled(snap(10, 'abcd'), net.now, (v) => v === 'held:1');
      net.flush(2);
      expect(r2.outstanding).toBe(1);
    });
  }

  it('the review seed: a proposer-only node under leader with fast forgetting finishes, each value decided once', async () => {
    const { parseRunSpec, configFor } = await import('../src/sim/flags.js');
    const { runSimulation } = await import('../src/sim/simulator.js');
    const params = new Map([['replicas', '3'], ['proposers', '4'], ['retain', '3'], ['snapshot-every', '4'], ['proposals', '30'], ['policy', 'leader']]);
    // `npm run sim -- --seed 4 --seeds 1 --replicas 3 --proposers 4 --retain 3 --snapshot-every 4 --proposals 30 --policy leader`:
    // before, n3 re-forwarded its 30 values for ever (owed n3:30) and 2,048 slots were chosen for 120 proposals.
    const r = runSimulation(configFor(parseRunSpec(params, [], undefined, false), 4));
    expect(r.violations).toEqual([]);
    expect(r.livenessFailure).toBeNull();
    expect([r.decided, r.slotsChosen]).toEqual([120, 120]);
  });
});
