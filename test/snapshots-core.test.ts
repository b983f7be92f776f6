/**
 * Snapshots in the core (src/paxos/catch-up.ts, replica.ts, learner.ts): below
 * the forgotten mark a prepare or an accept is refused, never answered "no
 * vote", also after a restart from a snapshot; a hole filler never runs below
 * the mark; a replica behind the others' retained window pulls a snapshot
 * chunk by chunk and resumes from another peer when its sender goes quiet; a
 * snapshot the driver refuses changes nothing and is not fetched again.
 */
import { describe, expect, it } from 'vitest';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import { decode, encode } from '../src/paxos/codec.js';
import { MsgType, type Message } from '../src/paxos/messages.js';
import { Replica, type HeldSnapshot, type ReplicaConfig } from '../src/paxos/replica.js';
import type { PersistRecord } from '../src/paxos/storage-records.js';
import { ScriptedNet, type InFlight } from './support/scripted-net.js';

const B = 65_536;
const snap = (index: number, data: string): HeldSnapshot => ({ index, data, crc: 7 });

/** A 3-node per-slot cluster with snapshots, where node 1 decides `n` values (every node learns them). */
function decided(n: number, extra: Partial<ReplicaConfig> = {}): ScriptedNet {
  const net = new ScriptedNet(3, 'immediate', { snapshots: true, retainDecided: 5, snapshotChunk_chars: 4, ...extra });
  for (let i = 0; i < n; i++) {
    net.propose(1, `v${i}`);
    net.run(() => 0, 1000);
  }
  return net;
}

/** What node `to` sends in answer to `msg` from node `from`. */
function answers(net: ScriptedNet, to: number, from: number, msg: Message): Message[] {
  const before = net.log.length;
  net.replica(to).receive(from, msg, net.now);
  net.flush(to);
  const sent = net.log.slice(before).filter((m) => m.from === to).map((m) => m.msg);
  net.inflight = net.inflight.filter((m) => m.from !== to);
  return sent;
}

describe('below the forgotten mark a prepare is refused, never answered "no vote"', () => {
  it('per-slot prepares and accepts below the snapshot are refused and counted; between the learner\'s mark and it, a Decide; an open promise covers from it', () => {
    const net = decided(24);
    expect(net.replica(0).firstUndecided).toBe(24);
    net.replica(0).snapshotTaken(snap(24, 'state@24'));
    net.checker.snapshotAt(0, 24);
    // The acceptor forgot below 24; the learner keeps from 19 (retainDecided 5 below the frontier, in one batch).
    expect(net.replica(0).forgottenBelow).toBe(24);
    expect(net.replica(0).decided(19)).toBe('v19');
    expect(net.replica(0).decided(18)).toBeUndefined();
    const high = 99 * B + 2;
    expect(answers(net, 0, 2, { t: MsgType.Prepare, slot: 10, ballot: high, open: false })).toEqual([]);
    expect(answers(net, 0, 2, { t: MsgType.Accept, slot: 10, ballot: high, value: 'x' })).toEqual([]);
    expect(net.replica(0).stats.refusedForgotten).toBe(2);
    expect(answers(net, 0, 2, { t: MsgType.Prepare, slot: 21, ballot: high, open: false })).toEqual([{ t: MsgType.Decide, slot: 21, value: 'v21' }]);
    expect(answers(net, 0, 2, { t: MsgType.Prepare, slot: 0, ballot: high, open: true })).toEqual([{ t: MsgType.Promise, slot: 24, ballot: high, open: true, votes: [] }]);
    expect(net.checker.violations).toEqual([]);
  });

  it('a replica restarted from its snapshot and compacted records refuses every slot below it, and keeps its promises above', () => {
    const net = decided(24);
    const r0 = net.replica(0);
    r0.snapshotTaken(snap(24, 'state@24'));
    net.checker.snapshotAt(0, 24);
    const high = 99 * B + 2;
    // A promise above the mark before the crash.
    expect(answers(net, 0, 2, { t: MsgType.Prepare, slot: 30, ballot: high, open: false })).toEqual([{ t: MsgType.Promise, slot: 30, ballot: high, open: false, votes: [] }]);
    const records: PersistRecord[] = r0.durableState();
    expect(records.filter((r) => r.k === 'mark')).toEqual([{ k: 'mark', below: 24 }]);
    const cfg = { id: 0, nodes: 3, policy: createPolicy(policySpec('immediate')), random: () => 0.5, attemptTimeout_ms: 1e9, sync_ms: 1e9, snapshots: true, retainDecided: 5 };
    net.records[0] = records;
    net.replicas[0] = Replica.start(cfg, net.now, records, snap(24, 'state@24'));
    net.checker.recovered(0, net.replica(0));
    expect(net.replica(0).firstUndecided).toBe(24);
    for (const slot of [0, 10, 21, 23]) expect(answers(net, 0, 2, { t: MsgType.Prepare, slot, ballot: high + B, open: false })).toEqual([]);
    expect(net.replica(0).stats.refusedForgotten).toBe(4);
    expect(answers(net, 0, 2, { t: MsgType.Prepare, slot: 30, ballot: high - B, open: false })).toEqual([{ t: MsgType.Nack, slot: 30, ballot: high - B, promised: high }]);
    expect(answers(net, 0, 2, { t: MsgType.Prepare, slot: 3, ballot: high + B, open: true })).toEqual([{ t: MsgType.Promise, slot: 24, ballot: high + B, open: true, votes: [] }]);
    // Without the snapshot the records are refused: the decisions below the mark would be lost.
    expect(() => Replica.start(cfg, 0, records)).toThrow('replica 0: its log forgot every slot below 24, but its latest snapshot is missing: the decisions in between would be lost');
    expect(() => Replica.start(cfg, 0, records, snap(20, 'older'))).toThrow('but its latest snapshot is at 20');
    expect(net.checker.violations).toEqual([]);
  });

  it('a hole filler restarted from a snapshot fills from the snapshot to its highest vote (one below was compacted away), never below', () => {
    const cfg = { id: 0, nodes: 3, policy: createPolicy(policySpec('immediate', { window: 8 })), random: () => 0.5, attemptTimeout_ms: 1e9, sync_ms: 10, snapshots: true };
    const records: PersistRecord[] = [{ k: 'mark', below: 24 }, { k: 'accept', slot: 26, ballot: 5 * B + 1, value: 'v26' }, { k: 'accept', slot: 12, ballot: 3 * B + 1, value: 'v12' }];
    const r = Replica.start(cfg, 0, records, snap(24, 'state@24'));
    const prepares: number[] = [];
    for (let t = 0; t <= 200; t += 5) {
      r.tick(t);
      for (const o of r.takeReady().messages) if (o.msg.t === MsgType.Prepare) prepares.push(o.msg.slot);
    }
    expect(r.stats.holesFilled).toBe(3);
    expect([...new Set(prepares)].sort((a, b) => a - b)).toEqual([24, 25, 26]);
    expect(r.voteIn(12)).toBeNull();
  });
});

describe('catch-up by snapshot', () => {
  /** Nodes 0 and 1 decide 30 values without node 2, then each takes a snapshot at 30 and forgets below it. */
  function behind(data: string): ScriptedNet {
    const net = new ScriptedNet(3, 'immediate', { snapshots: true, retainDecided: 2, snapshotChunk_chars: 4, attemptTimeout_ms: 10 });
    for (let i = 0; i < 30; i++) {
      net.propose(1, `v${i}`);
      for (let k = 0; k < 1000 && net.inflight.length > 0; k++) {
        const m = net.inflight.shift() as InFlight;
        if (m.to === 2 || m.from === 2) continue;
        net.replica(m.to).receive(m.from, m.msg, net.now);
        net.flush(m.to);
      }
    }
    for (const id of [0, 1]) {
      net.replica(id).snapshotTaken(snap(30, data));
      net.checker.snapshotAt(id, 30);
    }
    expect(net.replica(1).decided(27)).toBeUndefined();
    expect(net.replica(2).firstUndecided).toBe(0);
    return net;
  }

  const pull = (net: ScriptedNet, pred: (m: InFlight) => boolean): InFlight => net.deliver(pred);
  const chunk = (from: number) => (m: InFlight): boolean => m.from === from && m.msg.t === MsgType.SnapChunk;
  const request = (to: number) => (m: InFlight): boolean => m.to === to && m.msg.t === MsgType.SnapRequest;

  it('a LearnRequest below the mark gets the first chunk; the rest is pulled one chunk at a time, resumed from another peer when the sender goes quiet', () => {
    const data = 'abcdefghij';
    const net = behind(data);
    net.replica(1).receive(2, { t: MsgType.LearnRequest, slot: 0 }, net.now);
    net.flush(1);
    expect(pull(net, chunk(1)).msg).toEqual({ t: MsgType.SnapChunk, index: 30, size: 10, crc: 7, offset: 0, data: 'abcd' });
    // Node 2 asks node 1 for the next chunk: that request is lost (node 1 went quiet).
    const lost = net.inflight.findIndex(request(1));
    expect(net.inflight[lost]?.msg).toEqual({ t: MsgType.SnapRequest, index: 30, offset: 4 });
    net.inflight.splice(lost, 1);
    expect(net.replica(2).nextDeadline()).toBe(40);
    net.now = 40;
    net.replica(2).tick(40);
    net.flush(2);
    // Resumed from node 0 at the same offset.
    expect(pull(net, request(0)).msg).toEqual({ t: MsgType.SnapRequest, index: 30, offset: 4 });
    expect(pull(net, chunk(0)).msg).toMatchObject({ offset: 4, data: 'efgh' });
    pull(net, request(0));
    expect(pull(net, chunk(0)).msg).toMatchObject({ offset: 8, data: 'ij' });
    expect(net.installs).toEqual([{ node: 2, snapshot: { index: 30, data, crc: 7 } }]);
    expect(net.replica(2).firstUndecided).toBe(30);
    expect(net.replica(2).forgottenBelow).toBe(30);
    expect(net.replica(2).stats).toMatchObject({ snapshotChunksReceived: 3, snapshotsInstalled: 1 });
    expect(net.replica(1).stats.snapshotChunksSent).toBe(1);
    expect(net.replica(0).stats.snapshotChunksSent).toBe(2);
    // The installed snapshot persisted its mark, and node 2 now serves it too.
    expect(net.records[2]?.filter((r) => r.k === 'mark')).toEqual([{ k: 'mark', below: 30 }]);
    expect(net.replica(2).catchUp.state.own).toEqual({ index: 30, data, crc: 7 });
    // It decides with the others from there.
    net.propose(2, 'after');
    net.run(() => 0, 1000);
    expect(net.replica(2).decided(30)).toBe('after');
    expect(net.checker.violations).toEqual([]);
  });

  it('a snapshot the driver refuses changes nothing and is not fetched again; a newer one is', () => {
    const net = behind('0123456');
    net.acceptInstall = () => false;
    const offer = (from: number): void => {
      net.replica(from).receive(2, { t: MsgType.LearnRequest, slot: 0 }, net.now);
      net.flush(from);
      net.run(() => 0, 100);
    };
    offer(1);
    expect(net.installs.map((i) => i.snapshot.index)).toEqual([30]);
    expect(net.replica(2).firstUndecided).toBe(0);
    expect(net.records[2]?.some((r) => r.k === 'mark')).toBe(false);
    offer(0);
    expect(net.installs.length).toBe(1);
    expect(net.replica(2).stats.snapshotChunksReceived).toBe(2);
    net.replica(0).snapshotTaken(snap(30, '0123456'));
    net.acceptInstall = () => true;
    // A newer snapshot is taken and offered: fetched and installed.
    net.propose(1, 'v30');
    net.run((q) => q.findIndex((m) => m.to !== 2 && m.from !== 2), 1000);
    net.inflight = [];
    net.replica(1).snapshotTaken(snap(31, 'newer'));
    offer(1);
    expect(net.installs.map((i) => i.snapshot.index)).toEqual([30, 31]);
    expect(net.replica(2).firstUndecided).toBe(31);
  });
});

describe('the snapshot messages on the wire', () => {
  it('round trip, and malformed ones are refused with a reason', () => {
    const msgs: Message[] = [
      { t: MsgType.SnapRequest, index: 30, offset: 4 },
      { t: MsgType.SnapChunk, index: 30, size: 10, crc: 4_294_967_295, offset: 8, data: 'ij' },
      { t: MsgType.SnapChunk, index: 0, size: 0, crc: 0, offset: 0, data: '' },
    ];
    for (const m of msgs) expect(decode(encode(m))).toEqual(m);
    expect(decode([MsgType.SnapChunk, 30, 10, 0, 8, 'ijk'])).toBe('snapshot chunk: bad data');
    expect(decode([MsgType.SnapChunk, 30, 10, 0, 4, ''])).toBe('snapshot chunk: bad data');
    expect(decode([MsgType.SnapChunk, 30, 2 ** 30, 0, 0, 'x'])).toBe('snapshot chunk: bad field');
    expect(decode([MsgType.SnapChunk, 30, 10, 2 ** 32, 0, 'x'])).toBe('snapshot chunk: bad field');
    expect(decode([MsgType.SnapRequest, 30, -1])).toBe('snapshot request: bad field');
    expect(decode([MsgType.SnapRequest, 30])).toBe('tag 16: expected 3 fields, got 2');
  });
});
