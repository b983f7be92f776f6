/**
 * (From an independent review.) The driver reads the clock at the start of a
 * turn (`turnNow`), and again every 256 messages it drains. The argument: every message drained arrived
 * before the turn began, so the reading is not before its arrival (a lease
 * grant counted from it still outlasts the holder's lease, which counts from
 * before the request was sent). Checked here against the harshest schedule
 * the driver allows: a transport that delivers SYNCHRONOUSLY at flush, so a
 * flush re-enters the peer's eager turn, whose flush re-enters ours while we
 * are still in our turn; a small drainBatch, so messages are left over for
 * later turns; and a clock that jumps forward at every flush (slow turns).
 *
 * For every message a replica receives: the time it is handed is at least
 * the clock reading taken just before the message was pushed to the mailbox;
 * each replica sees time that never goes back; and every lease grant runs at
 * least lease_ms past the request's arrival.
 */
import { describe, expect, it } from 'vitest';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import type { NodeId } from '../src/paxos/ballot.js';
import type { Wire } from '../src/paxos/codec.js';
import type { StableLeader } from '../src/paxos/leader.js';
import { MsgType, type Message } from '../src/paxos/messages.js';
import { Replica } from '../src/paxos/replica.js';
import { ReplicaDriver } from '../src/runtime/driver.js';
import { emptyTransportStats, type BatchReceiver, type Transport } from '../src/runtime/transport.js';
import { MemoryStorage } from '../src/storage/memory.js';
import { waitFor } from './support/wait.js';

const N = 3;
const LEASE_MS = 100;
const SKEW_MS = 2;

describe('one clock reading per turn is never before a drained message arrived', () => {
  it('3 lease replicas, synchronous re-entrant delivery, drainBatch 3, a clock that jumps at every flush', async () => {
    let skew = 0;
    const clock = (): number => performance.now() + skew;
    const drivers: ReplicaDriver[] = [];
    /** Per replica, the clock reading taken right before each message was pushed, FIFO (the mailbox's order). */
    const pushedAt: number[][] = Array.from({ length: N }, () => []);
    const problems: string[] = [];
    let reentrant = 0;
    let late = 0;
    let grantsChecked = 0;

    class SyncTransport implements Transport {
      readonly stats = emptyTransportStats();
      private readonly out: Wire[][] = Array.from({ length: N }, () => []);
      constructor(readonly id: NodeId) {}
      setReceiver(_fn: BatchReceiver): void {}
      send(to: NodeId, wire: Wire): void {
        this.out[to]?.push(wire);
      }
      flush(): void {
        if (this.out.every((w) => w.length === 0)) return;
        skew += SKEW_MS; // this turn was slow
        for (let to = 0; to < N; to++) {
          const wires = this.out[to] as Wire[];
          if (wires.length === 0) continue;
          this.out[to] = [];
          const env: (number | string)[] = [];
          for (const w of wires) env.push(w.length, ...(w as (number | string)[]));
          const d = drivers[to] as ReplicaDriver;
          if ((d as unknown as { inTurn: boolean }).inTurn) reentrant++;
          const c = clock();
          for (let k = 0; k < wires.length; k++) (pushedAt[to] as number[]).push(c);
          d.deliver(this.id, env);
        }
      }
      close(): void {}
    }

    const decided = Array.from({ length: N }, () => 0);
    for (let id = 0; id < N; id++) {
      const replica = Replica.start({ id, nodes: N, policy: createPolicy(policySpec('lease', { lease_ms: LEASE_MS, drift_ms: 10, window: 4 })), random: () => 0.3 + 0.1 * id }, clock());
      let last = Number.NEGATIVE_INFINITY;
      const seen = (what: string, now: number): void => {
        if (now < last) problems.push(`replica ${id}: ${what} at ${now} after ${last}`);
        last = now;
      };
      const receive = replica.receive.bind(replica);
      replica.receive = (from: NodeId, msg: Message, now: number): void => {
        const c = (pushedAt[id] as number[]).shift();
        if (c === undefined) problems.push(`replica ${id}: a message nobody pushed`);
        else if (now < c) problems.push(`replica ${id}: type ${msg.t} from ${from} handled at ${now}, pushed at ${c}`);
        else if (now > c) late++;
        seen('receive', now);
        receive(from, msg, now);
        if (msg.t === MsgType.LeaseRequest && c !== undefined) {
          const grantor = (replica.role as StableLeader).grantor;
          const [holder, left] = (grantor?.fingerprint(now) ?? '-1|0').split('|').map(Number);
          if (holder === from && (left as number) > 0) {
            grantsChecked++;
            if (now + (left as number) < c + LEASE_MS) problems.push(`replica ${id}: grant to ${from} ends ${now + (left as number)}, request arrived ${c}`);
          }
        }
      };
      for (const m of ['tick', 'endTurn'] as const) {
        const f = replica[m].bind(replica);
        replica[m] = (now: number): void => {
          seen(m, now);
          f(now);
        };
      }
      const propose = replica.propose.bind(replica);
      replica.propose = (v: string, now: number): boolean => {
        seen('propose', now);
        return propose(v, now);
      };
      drivers.push(new ReplicaDriver(id, replica, new MemoryStorage(), new SyncTransport(id), (ds) => void (decided[id] = (decided[id] ?? 0) + ds.length), { now: clock, drainBatch: 3 }));
    }
    try {
      await waitFor('a leader', () => drivers.some((d) => (d.replica.role as StableLeader).state.role === 'leading'));
      let k = 0;
      for (let round = 0; round < 20; round++) {
        for (let j = 0; j < 15; j++) (drivers[k % N] as ReplicaDriver).propose(`v${k++}`);
        await waitFor(`decisions of round ${round}`, () => decided.every((n) => n >= k), 20_000).catch((e) => {
          const st = drivers.map((d) => { const s = (d.replica.role as StableLeader).state; return `${d.id}: ${s.role} b${s.leadBallot} fu${d.replica.firstUndecided} pend${s.pending.size} fwd${s.forwarded.size} inst${s.instances.size} dec${decided[d.id]} turns${d.stats.turns}`; });
          throw new Error(`${(e as Error).message}; k ${k}; ${st.join(' | ')}; skew ${skew}`);
        });
      }
      // Every message pushed was handed over: the ones still in a mailbox when the last round decided are drained
      // by the turns already scheduled (drainBatch 3 leaves some for later turns), so wait for an instant with none.
      await waitFor('every pushed message handled', () => pushedAt.every((q) => q.length === 0), 10_000);
      expect(problems.slice(0, 5)).toEqual([]);
      // The schedule was what it claims: deliveries into a driver still in its turn, messages left for later turns, grants.
      expect(reentrant).toBeGreaterThan(0);
      expect(late).toBeGreaterThan(0);
      expect(grantsChecked).toBeGreaterThan(0);
    } finally {
      for (const d of drivers) d.close();
    }
  }, 60_000);
});

describe('a long turn reads the clock again as it goes', () => {
  it('1,000 messages drained in one turn are handed at least 4 distinct, increasing times', async () => {
    let t = 0;
    const clock = (): number => ++t; // every reading is later than the one before
    const replica = Replica.start({ id: 1, nodes: 3, policy: createPolicy(policySpec('leader')), random: () => 0.5 }, 0);
    const times: number[] = [];
    const receive = replica.receive.bind(replica);
    replica.receive = (from: NodeId, m: Message, now: number): void => {
      times.push(now);
      receive(from, m, now);
    };
    const transport: Transport = { id: 1, stats: emptyTransportStats(), setReceiver: () => {}, send: () => {}, flush: () => {}, close: () => {} };
    const d = new ReplicaDriver(1, replica, new MemoryStorage(), transport, () => {}, { now: clock, drainBatch: 4096 });
    try {
      // Heartbeats from replica 0: each is handled, none is answered by anything that matters here.
      const env: (number | string)[] = [];
      for (let i = 0; i < 1000; i++) env.push(3, MsgType.Heartbeat, 65_536, 0);
      await new Promise((r) => setImmediate(r)); // the driver's first turn (it arms the timers)
      const before = d.stats.turns;
      d.deliver(0, env);
      await new Promise((r) => setImmediate(r));
      expect(d.stats.turns).toBe(before + 1); // all 1,000 in one turn
      expect(times).toHaveLength(1000);
      const distinct = [...new Set(times)];
      expect(distinct.length).toBeGreaterThanOrEqual(4); // at the start, and after 256, 512 and 768 messages
      expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
      // No message is handed a time from before the turn began (every one arrived before it).
      expect(Math.min(...times)).toBeGreaterThanOrEqual(times[0] as number);
    } finally {
      d.close();
    }
  });
});
