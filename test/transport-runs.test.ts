/**
 * Run frames (src/runtime/transport.ts): consecutive tuples with the same
 * width, first and third field and a second field counting up travel as one
 * frame. The framing must give back exactly what was sent, in order, whatever
 * was sent; a malformed run is refused whole, with a reason.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../src/base/random.js';
import { createPolicy, policySpec } from '../src/contention/registry.js';
import { MsgType } from '../src/paxos/messages.js';
import { Replica } from '../src/paxos/replica.js';
import { ReplicaDriver } from '../src/runtime/driver.js';
import { Outbox, RUN_MAX, forEachTuple, type Envelope, type Transport } from '../src/runtime/transport.js';
import { MemoryStorage } from '../src/storage/memory.js';

type Field = number | string;

function collect(envs: readonly unknown[]): { tuples: unknown[][]; errors: string[] } {
  const tuples: unknown[][] = [];
  const errors: string[] = [];
  for (const env of envs) {
    const err = forEachTuple(env, (t) => void tuples.push(t));
    if (err !== null) errors.push(err);
  }
  return { tuples, errors };
}

/** Field-by-field with Object.is, so -0 against 0 and NaN count. */
function sameTuples(a: readonly (readonly unknown[])[], b: readonly (readonly unknown[])[]): string | null {
  if (a.length !== b.length) return `${a.length} tuples, expected ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as readonly unknown[], y = b[i] as readonly unknown[];
    if (x.length !== y.length || x.some((f, j) => !Object.is(f, y[j]))) return `tuple ${i}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`;
  }
  return null;
}

describe('run frames', () => {
  it("a leader's 64 accepts to a follower are one frame of 69 elements, its 64 answers one of 5", () => {
    const envs: Envelope[] = [];
    const o = new Outbox(2, 1024, (_to, env) => (envs.push([...env]), true), true);
    const accepts = Array.from({ length: 64 }, (_, i) => [3, 1000 + i, 65_537, `v${i}`]);
    for (const a of accepts) o.add(1, a);
    o.flush();
    const answers = Array.from({ length: 64 }, (_, i) => [4, 1000 + i, 65_537]);
    for (const a of answers) o.add(1, a);
    o.flush();
    expect(envs.map((e) => e.length)).toEqual([69, 5]);
    expect(envs[0]?.slice(0, 6)).toEqual([-64, 4, 3, 1000, 65_537, 'v0']);
    expect(envs[1]).toEqual([-64, 3, 4, 1000, 65_537]);
    expect(o.stats.messages_sent).toBe(128);
    const { tuples, errors } = collect(envs);
    expect(errors).toEqual([]);
    expect(sameTuples(tuples, [...accepts, ...answers])).toBeNull();
  });

  it('a lone tuple stays a plain frame; a break in slot, tag, ballot or width starts a new frame', () => {
    const envs: Envelope[] = [];
    const o = new Outbox(2, 1024, (_to, env) => (envs.push([...env]), true));
    o.add(1, [3, 7, 9, 'a']);
    o.flush();
    for (const w of [[4, 1, 9], [4, 2, 9], [4, 4, 9], [5, 5, 9], [5, 6, 8], [5, 7, 8, 'x']]) o.add(1, w);
    o.flush();
    expect(envs).toEqual([
      [4, 3, 7, 9, 'a'],
      [-2, 3, 4, 1, 9, 3, 4, 4, 9, 3, 5, 5, 9, 3, 5, 6, 8, 4, 5, 7, 8, 'x'],
    ]);
  });

  it('a run stops at RUN_MAX tuples and the next starts a new frame', () => {
    const envs: Envelope[] = [];
    const o = new Outbox(2, 10_000, (_to, env) => (envs.push([...env]), true));
    for (let i = 0; i < RUN_MAX + 10; i++) o.add(1, [4, i, 1]);
    o.flush();
    expect(envs[0]).toEqual([-RUN_MAX, 3, 4, 0, 1, -10, 3, 4, RUN_MAX, 1]);
    expect(collect(envs).tuples).toHaveLength(RUN_MAX + 10);
  });

  it('gives back exactly what was sent over 3,000 seeded sequences (runs, breaks, odd numbers, flushes mid-run)', () => {
    const odd: Field[] = [0, -0, 1.5, -3, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1, 2 ** 60, Number.NaN, '', '3'];
    for (let seed = 1; seed <= 3000; seed++) {
      const rnd = new SeededRandom(seed);
      const maxBatch = rnd.int(1, 40);
      const envs: Envelope[][] = [[], [], []];
      const o = new Outbox(3, maxBatch, (to, env) => (envs[to]?.push([...env]), true), rnd.chance(0.5));
      const sent: Field[][][] = [[], [], []];
      const prev: Field[][] = [[3, 0, 1], [3, 0, 1], [3, 0, 1]];
      const n = rnd.int(0, 120);
      for (let i = 0; i < n; i++) {
        const to = rnd.chance(0.7) ? 1 : 2;
        const last = prev[to] as Field[];
        let w: Field[];
        if (rnd.chance(0.6) && last.length >= 3 && typeof last[1] === 'number') {
          // Continue the peer's run most of the time; a tail of any content.
          w = [last[0] as Field, (last[1] as number) + 1, last[2] as Field];
          while (w.length < last.length) w.push(rnd.chance(0.5) ? `t${rnd.int(0, 9)}` : rnd.int(-5, 5));
        } else {
          const width = rnd.int(1, 10);
          w = Array.from({ length: width }, () => (rnd.chance(0.2) ? (odd[rnd.int(0, odd.length - 1)] as Field) : rnd.chance(0.5) ? rnd.int(0, 6) : `s${rnd.int(0, 3)}`));
        }
        sent[to]?.push(w);
        prev[to] = w;
        o.add(to, w);
        if (rnd.chance(0.05)) o.flush();
      }
      o.flush();
      for (const to of [1, 2]) {
        const { tuples, errors } = collect(envs[to] as Envelope[]);
        expect(errors, `seed ${seed}`).toEqual([]);
        expect(sameTuples(tuples, sent[to] as Field[][]), `seed ${seed} peer ${to}`).toBeNull();
      }
      expect(o.stats.messages_sent).toBe(n);
    }
  });

  it('refuses a malformed run whole, after handing on the frames before it', () => {
    const cases: [unknown[], RegExp][] = [
      [[-(RUN_MAX + 1), 3, 4, 0, 1], /bad run length at 2/],
      [[-1.5, 3, 4, 0, 1], /bad run length at 2/],
      [[-2, 2, 4, 0, 1], /bad run width at 2/],
      [[-2, 9, 4, 0, 1, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'], /bad run width at 2/],
      [[-2, '4', 3, 0, 1, 'a', 'b'], /bad run width at 2/],
      [[-3, 4, 3, 0, 1, 'a', 'b'], /run past the end at 2/],
      [[-1, 3, 4], /run past the end at 2/],
      [[-2, 3, 4, 'x', 1], /bad run start at 2/],
      [[-2, 3, 4, 0.5, 1], /bad run start at 2/],
      [[-2, 3, 4, Number.MAX_SAFE_INTEGER - 1, 1], /bad run start at 2/],
    ];
    for (const [frame, reason] of cases) {
      const got: unknown[][] = [];
      const err = forEachTuple([1, 'before', ...frame], (t) => void got.push(t));
      expect(err, JSON.stringify(frame)).toMatch(reason);
      expect(got).toEqual([['before']]);
    }
    // The largest legal run start: its last tuple's second field is MAX_SAFE_INTEGER - 1.
    const got: unknown[][] = [];
    expect(forEachTuple([-2, 3, 4, Number.MAX_SAFE_INTEGER - 2, 1], (t) => void got.push(t))).toBeNull();
    expect(got).toEqual([[4, Number.MAX_SAFE_INTEGER - 2, 1], [4, Number.MAX_SAFE_INTEGER - 1, 1]]);
  });

  it('a follower votes for every accept of a run, answers with one run frame, and counts a bad run once', async () => {
    const replica = Replica.start({ id: 1, nodes: 3, policy: createPolicy(policySpec('leader')), random: () => 0.5 }, 0);
    const posted: Envelope[] = [];
    const outbox = new Outbox(3, 1024, (to, env) => (to === 0 && posted.push([...env]), true));
    const transport: Transport = { id: 1, stats: outbox.stats, setReceiver: () => {}, send: (to, w) => outbox.add(to, w), flush: () => outbox.flush(), close: () => {} };
    const d = new ReplicaDriver(1, replica, new MemoryStorage(), transport, () => {}, { now: () => 0 });
    try {
      await new Promise((r) => setImmediate(r)); // the first turn arms the timers
      const ballot = 65_536; // round 1 of replica 0
      const run: Envelope = [-16, 4, MsgType.Accept, 0, ballot, ...Array.from({ length: 16 }, (_, i) => `v${i}`)];
      d.deliver(0, run);
      await new Promise((r) => setImmediate(r));
      for (let s = 0; s < 16; s++) expect(replica.voteIn(s)).toEqual({ slot: s, ballot, value: `v${s}` });
      expect(posted.at(-1)).toEqual([-16, 3, MsgType.Accepted, 0, ballot]);
      // Two more accepts, then a run that claims more values than it carries: the two are voted, the rest dropped.
      d.deliver(0, [4, MsgType.Accept, 16, ballot, 'v16', 4, MsgType.Accept, 17, ballot, 'v17', -5, 4, MsgType.Accept, 18, ballot, 'a', 'b']);
      await new Promise((r) => setImmediate(r));
      expect(replica.voteIn(17)?.value).toBe('v17');
      expect(replica.voteIn(18)).toBeNull();
      expect(d.stats.malformed).toBe(1);
      expect(d.stats.malformed_reason).toBe('from replica 0: run past the end at 10');
    } finally {
      d.close();
    }
  });
});
