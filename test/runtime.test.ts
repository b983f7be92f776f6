import { describe, expect, it } from 'vitest';
import { Mailbox } from '../src/runtime/mailbox.js';
import { Outbox, forEachTuple } from '../src/runtime/transport.js';
import { Applier } from '../src/runtime/applier.js';
import { Cluster } from '../src/cluster/index.js';

describe('Mailbox', () => {
  it('is FIFO, bounded, and drains in batches', () => {
    const m = new Mailbox(3);
    expect([m.push(0, 'a'), m.push(1, 'b'), m.push(2, 'c'), m.push(3, 'd')]).toEqual([true, true, true, false]);
    const got: string[] = [];
    expect(m.drain(2, (from, x) => got.push(`${from}${String(x)}`))).toBe(2);
    m.push(4, 'e');
    m.drain(10, (from, x) => got.push(`${from}${String(x)}`));
    expect(got).toEqual(['0a', '1b', '2c', '4e']);
    expect(m.size).toBe(0);
  });
});

describe('Outbox', () => {
  it('batches per peer until flush, and posts early when a batch is full', () => {
    const posted: [number, number][] = [];
    const o = new Outbox(3, 4, (to, _envelope, messages) => (posted.push([to, messages]), true));
    for (let i = 0; i < 6; i++) o.add(1, [1, i]);
    o.add(2, [4, 0, 0]);
    expect(posted).toEqual([[1, 4]]);
    o.flush();
    expect(posted).toEqual([[1, 4], [1, 2], [2, 1]]);
    expect(o.stats.messages_sent).toBe(7);
    o.add(9, [1]);
    expect(o.stats.unroutable).toBe(1);
  });

  it('posts one flat envelope per peer that forEachTuple splits back; bad framing is reported', () => {
    const envs: unknown[] = [];
    const o = new Outbox(2, 64, (_to, env) => (envs.push(env), true));
    o.add(1, [3, 7, 9, 'v']);
    o.add(1, [4, 7, 9]);
    o.flush();
    expect(envs).toEqual([[4, 3, 7, 9, 'v', 3, 4, 7, 9]]);
    const got: unknown[] = [];
    expect(forEachTuple(envs[0], (t) => got.push(t))).toBeNull();
    expect(got).toEqual([[3, 7, 9, 'v'], [4, 7, 9]]);
    expect(forEachTuple([2, 1], () => {})).toMatch(/bad tuple length/);
    expect(forEachTuple('x', () => {})).toMatch(/not an array/);
  });

  it('with reuse, refills one array per peer: a shorter envelope after a longer one carries nothing of it', () => {
    const copies: unknown[][] = [];
    const arrays: unknown[] = [];
    // As postMessage does: the envelope is copied before post returns.
    const o = new Outbox(2, 64, (_to, env) => (copies.push([...env]), arrays.push(env), true), true);
    o.add(1, [3, 7, 9, 'long value']);
    o.add(1, [4, 7, 9]);
    o.flush();
    o.add(1, [4, 8, 9]);
    o.flush();
    o.add(1, [1, 2]);
    o.add(1, [5, 6, 7, 8, 9]);
    o.flush();
    expect(copies).toEqual([[4, 3, 7, 9, 'long value', 3, 4, 7, 9], [3, 4, 8, 9], [2, 1, 2, 5, 5, 6, 7, 8, 9]]);
    expect(arrays[0]).toBe(arrays[1]);
    expect(arrays[1]).toBe(arrays[2]);
    expect(o.stats.messages_sent).toBe(5);
  });
});

describe('Applier', () => {
  it('applies in slot order, skips no-ops and a request decided twice', () => {
    const seen: string[] = [];
    const a = new Applier((x) => seen.push(`${x.slot}:${x.requestId}:${x.payload}`));
    a.learned([{ slot: 2, value: 'r1:v', ballots: 0 }, { slot: 1, value: '', ballots: 0 }]);
    expect(seen).toEqual([]);
    a.learned([{ slot: 0, value: 'r1:v', ballots: 0 }, { slot: 3, value: 'r2:w', ballots: 0 }]);
    expect(seen).toEqual(['0:r1:v', '3:r2:w']);
    expect(a.stats).toMatchObject({ applied: 2, duplicates: 1, noops: 1, next_slot: 4 });
    expect(a.slotOf('r1')).toBe(0);
    expect(a.decidedLog().values).toEqual(['r1:v', '', 'r1:v', 'r2:w']);
  });

  it('keeps a readable log bounded in slots and in characters', () => {
    const value = (slot: number): string => `r${slot}:`.padEnd(100, '.');
    const bySlots = new Applier(() => {}, undefined, 10);
    bySlots.learned(Array.from({ length: 21 }, (_, slot) => ({ slot, value: value(slot), ballots: 0 })));
    // Cut at 21 slots (more than twice 10) to the last 10.
    expect(bySlots.decidedLog()).toEqual({ from: 11, values: Array.from({ length: 10 }, (_, k) => value(11 + k)) });
    const byChars = new Applier(() => {}, undefined, 100_000, {}, 1000);
    byChars.learned(Array.from({ length: 21 }, (_, slot) => ({ slot, value: value(slot), ballots: 0 })));
    // 2,100 characters (more than twice 1,000): cut to the last 10 slots, 1,000 characters.
    expect(byChars.decidedLog().from).toBe(11);
    expect(byChars.decidedLog(0, 3).values).toEqual([value(11), value(12), value(13)]);
    // One slot larger than the whole budget is still kept (the last slot stays).
    byChars.learned([{ slot: 21, value: 'big:'.padEnd(5000, '.'), ballots: 0 }]);
    expect(byChars.decidedLog()).toEqual({ from: 21, values: ['big:'.padEnd(5000, '.')] });
  });

  it('dedupes load ids (~stream.seq) per stream in memory bounded by the gaps, identically on every replica', () => {
    const run = (values: string[]): string[] => {
      const seen: string[] = [];
      const a = new Applier((x) => seen.push(x.requestId));
      a.learned(values.map((value, slot) => ({ slot, value, ballots: 0 })));
      return seen;
    };
    // Out of order, a duplicate in a later slot, two streams with the same seqs, and a client id beside them.
    const log = ['~w0.1:a', '~w0.0:b', '~w1.0:c', '~w0.1:a', 'client-id:x', '~w0.2:d', '~w1.0:c', '~w0.0:b'];
    expect(run(log)).toEqual(['~w0.1', '~w0.0', '~w1.0', 'client-id', '~w0.2']);
    // A stream with a permanent gap (seq 0 never decided) still applies everything else once.
    const gap = Array.from({ length: 70_000 }, (_, k) => `~w2.${k + 1}:p`);
    const applied = run([...gap, '~w2.5:p']);
    expect(applied).toHaveLength(70_000);
  });
});

describe('inline runtime (all replicas on this thread)', () => {
  it('3 replicas, proposals from every replica: identical logs, every value once', async () => {
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'exponential', seed: 7 });
    try {
      const values = Array.from({ length: 60 }, (_, k) => `v${k}`);
      const res = await Promise.all(values.map((v, k) => c.propose(v, { via: k % 3 })));
      expect(new Set(res.map((r) => r.slot)).size).toBe(values.length);
      const logs = await Promise.all([0, 1, 2].map((i) => c.decidedLog(i)));
      const top = Math.max(...res.map((r) => r.slot));
      // Every replica learns everything eventually (anti-entropy); wait for the frontier.
      for (let t = 0; t < 100 && logs.some((l) => l.values.length <= top); t++) {
        await new Promise((r) => setTimeout(r, 20));
        for (let i = 0; i < 3; i++) logs[i] = await c.decidedLog(i);
      }
      const ref = logs[0]!.values;
      for (const l of logs) expect(l.values.slice(0, top + 1)).toEqual(ref.slice(0, top + 1));
      const payloads = ref.filter((v) => v !== '').map((v) => v.slice(v.indexOf(':') + 1));
      expect(payloads.sort()).toEqual([...values].sort());
      const s = await c.stats();
      expect(s.client.decided).toBe(60);
      expect(s.replicas.every((r) => r !== null && r.transport.messages_sent > 0)).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('counts and drops malformed messages, and keeps deciding', async () => {
    const c = await Cluster.start({ replicas: 3, runtime: 'inline', policy: 'leader' });
    try {
      await c.inject(1, 0, [[99, 1], 'junk', [3, 0, -5, 'x'], { t: 1 }]);
      await c.inject(1, 2, 'not a batch');
      const r = await c.propose('after-junk', { via: 1 });
      expect(r.value).toBe('after-junk');
      const s = (await c.stats()).replicas[1]!;
      expect(s.driver.malformed).toBe(5);
      expect(s.driver.malformed_reason).toMatch(/^from replica \d: [^\n]+$/);
    } finally {
      await c.close();
    }
  });
});
