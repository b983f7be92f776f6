/**
 * (From an independent review.) PortTransport's outbox refills one array per peer
 * (8585c4f). Over real MessageChannels, with the fault layer on top (delays
 * from timers outside any turn, duplicates, reorder), mid-turn flushes at
 * maxBatch, turns of every length, a peer with no port yet (unroutable) that
 * is connected later, and a port replaced by a new one: every envelope that
 * arrives holds exactly messages that were sent, each whole (no stale tail of
 * a longer envelope, no field of a later turn), and without faults exactly the
 * sent sequence.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { Wire } from '../src/paxos/codec.js';
import { SeededRandom } from '../src/base/random.js';
import { FaultyTransport } from '../src/runtime/fault-transport.js';
import { InlineHub, InlineTransport } from '../src/runtime/inline-transport.js';
import { PortTransport } from '../src/runtime/port-transport.js';
import { forEachTuple, type Transport } from '../src/runtime/transport.js';
import { waitFor } from './support/wait.js';

/** A message whose every field names it, with a length drawn from 1..9: a tail of another message cannot pass for it. */
function message(id: number, rnd: SeededRandom): Wire {
  const n = rnd.int(1, 9);
  const w: (number | string)[] = [];
  for (let i = 0; i < n; i++) w.push(i % 2 === 0 ? `m${id}.${i}.${n}` : id * 100 + i);
  return w as Wire;
}

function whole(t: unknown): string | null {
  if (!Array.isArray(t) || t.length === 0) return 'empty';
  const first = t[0] as string;
  const m = /^m(\d+)\.0\.(\d+)$/.exec(first);
  if (m === null) return `bad first field ${String(first)}`;
  const id = Number(m[1]);
  const n = Number(m[2]);
  if (t.length !== n) return `message ${id}: ${t.length} fields, sent ${n}`;
  for (let i = 0; i < n; i++) if (t[i] !== (i % 2 === 0 ? `m${id}.${i}.${n}` : id * 100 + i)) return `message ${id}: field ${i} is ${String(t[i])}`;
  return null;
}

async function exchange(opts: { faults: boolean; maxBatch: number; seed: number }): Promise<{ sent: number[]; got: number[]; bad: string[] }> {
  const rnd = new SeededRandom(opts.seed);
  const ch = new MessageChannel();
  // Replica 0 sends to 1; peer 2 has no port at first (unroutable), then gets one.
  const ports: (MessagePort | null)[] = [null, ch.port1, null];
  const port = new PortTransport(0, 3, ports, opts.maxBatch);
  const t: Transport = opts.faults ? new FaultyTransport(port, 3, { seed: opts.seed, state: { spec: { delay_ms: [0, 3], duplicate: 0.2, reorder: 0.2 }, partition: null } }) : port;
  const got: number[] = [];
  const bad: string[] = [];
  const receive = (env: unknown): void => {
    const err = forEachTuple(env, (tuple) => {
      const why = whole(tuple);
      if (why !== null) bad.push(why);
      else got.push(Number(/^m(\d+)/.exec(tuple[0] as string)?.[1]));
    });
    if (err !== null) bad.push(err);
  };
  ch.port2.on('message', receive);
  const sent: number[] = [];
  let id = 0;
  let ch2: MessageChannel | null = null;
  let ch3: MessageChannel | null = null;
  try {
    for (let turn = 0; turn < 300; turn++) {
      // Turns of 0..3*maxBatch messages: some flush mid-turn, some end short after a long one.
      const n = rnd.chance(0.3) ? rnd.int(0, 3) : rnd.int(0, 3 * opts.maxBatch);
      for (let k = 0; k < n; k++) {
        const m = message(id, rnd);
        sent.push(id++);
        t.send(1, m);
        if (rnd.chance(0.2)) t.send(2, message(1_000_000 + k, rnd));
      }
      t.flush();
      if (turn === 100) {
        ch2 = new MessageChannel();
        ch2.port2.on('message', receive);
        port.connect(2, ch2.port1);
      }
      if (turn === 200) {
        // Replica 1 restarted: a new port replaces the old one.
        ch3 = new MessageChannel();
        ch3.port2.on('message', receive);
        port.connect(1, ch3.port1);
      }
      if (turn % 25 === 0) await new Promise((r) => setImmediate(r));
    }
    const toOne = (): number => got.filter((g) => g < 1_000_000).length;
    // With faults, duplicates add messages; wait for at least every message sent to 1 (delays are at most 3 ms + reorder).
    await waitFor('every message to replica 1', () => toOne() >= sent.length);
    await new Promise((r) => setTimeout(r, 50));
    return { sent, got: got.filter((g) => g < 1_000_000), bad };
  } finally {
    t.close();
    ch.port2.close();
    ch2?.port2.close();
    ch3?.port2.close();
  }
}

describe('a reused outbox array never leaks into another envelope', () => {
  for (const maxBatch of [1, 3, 64]) {
    it(`PortTransport alone, maxBatch ${maxBatch}: exactly the sent sequence, every message whole`, async () => {
      const r = await exchange({ faults: false, maxBatch, seed: 11 + maxBatch });
      expect(r.bad).toEqual([]);
      expect(r.got).toEqual(r.sent);
    });
    it(`under the fault layer (delays, duplicates, reorder), maxBatch ${maxBatch}: every message whole, each sent one delivered, at most twice`, async () => {
      const r = await exchange({ faults: true, maxBatch, seed: 21 + maxBatch });
      expect(r.bad).toEqual([]);
      const counts = new Map<number, number>();
      for (const g of r.got) counts.set(g, (counts.get(g) ?? 0) + 1);
      expect([...counts.keys()].sort((a, b) => a - b)).toEqual(r.sent);
      expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    });
  }
});

describe('the inline transport must not reuse (its hub holds envelopes until a later setImmediate)', () => {
  it('two turns flushed before the hub delivers: both envelopes arrive as they were sent', async () => {
    const hub = new InlineHub(2);
    const a = new InlineTransport(0, hub);
    const b = new InlineTransport(1, hub);
    const got: unknown[] = [];
    b.setReceiver((_from, env) => void forEachTuple(env, (t) => void got.push(t)));
    a.send(1, [1, 2, 3, 'x']);
    a.send(1, [4, 5]);
    a.flush();
    a.send(1, [6]);
    a.flush();
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([[1, 2, 3, 'x'], [4, 5], [6]]);
    hub.close();
  });
});
