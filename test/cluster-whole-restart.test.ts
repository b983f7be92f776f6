/**
 * Whole-cluster crash and restart under load (issue 11): with file storage,
 * every acknowledged value is still there after every replica restarted, and
 * the logs resume. Learners are volatile, so after such a restart every slot
 * is a hole: per-slot policies refill them from the acceptors' own votes,
 * a stable leader from its open phase 1.
 *
 * And exactly-once end to end: a request decided twice (its first replica
 * timed out after proposing it, the client retried through another) is
 * applied once on every replica, also after a whole-cluster restart, because
 * the applier's dedupe is a function of the log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, type DecidedEvent, type Proposed } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import { encode } from '../src/paxos/codec.js';
import { MsgType } from '../src/paxos/messages.js';
import { Applier, DEFAULT_DEDUPE_WINDOW } from '../src/runtime/applier.js';
import type { Decision } from '../src/paxos/ready.js';
import { settledLogs } from './support/wait.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  expect(liveWorkers()).toBe(0);
});

function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'synod-whole-'));
  dirs.push(d);
  return d;
}


describe('whole-cluster crash and restart under load', () => {
  for (const [policy, fsync] of [['exponential', 'always'], ['leader', 'batch']] as const) {
    it(`${policy}, fsync ${fsync}: every acknowledged value survives, the logs resume`, async () => {
      const dir = scratch();
      const c = await Cluster.start({ replicas: 3, policy, storage: { dir, fsync }, seed: 21, timeout_ms: 1500, retries: 1 });
      try {
        const acked: Proposed[] = [];
        const load = Array.from({ length: 60 }, (_, k) => c.propose(`w${k}`, { via: k % 3 }).then((p) => void acked.push(p), () => undefined));
        // Crash all three while proposals are in flight.
        while (acked.length < 20) await new Promise((r) => setTimeout(r, 5));
        await Promise.all([0, 1, 2].map((i) => c.crash(i)));
        await Promise.all(load);
        expect(acked.length).toBeGreaterThanOrEqual(20);
        for (const i of [0, 1, 2]) await c.restart(i);
        // The logs resume: new proposals are decided after the restart.
        const after = await Promise.all(Array.from({ length: 9 }, (_, k) => c.propose(`z${k}`, { via: k % 3 })));
        const all = [...acked, ...after];
        const top = Math.max(...all.map((p) => p.slot));
        const logs = await settledLogs(c, top);
        const ref = (logs[0] as string[]).slice(0, top + 1);
        for (const l of logs) expect(l.slice(0, top + 1)).toEqual(ref);
        // Every acknowledged value is where it was reported, on every replica.
        for (const p of all) expect(ref[p.slot]).toBe(`${p.requestId}:${p.value}`);
      } finally {
        await c.close();
      }
    });
  }
});

describe('exactly once, end to end', () => {
  it('a request decided twice is applied once on every replica, also after a whole-cluster restart', async () => {
    const dir = scratch();
    const c = await Cluster.start({ replicas: 3, policy: 'exponential', storage: { dir, fsync: 'batch' }, seed: 5 });
    const applied = new Map<string, number>();
    const onDecided = (e: DecidedEvent): void => {
      const key = `${e.replica}:${e.requestId}`;
      applied.set(key, (applied.get(key) ?? 0) + 1);
    };
    c.on('decided', onDecided);
    try {
      const p = await c.propose('pay 10', { via: 0 });
      // The race a client retry loses: replica 0 got the request decided, but the client timed out first and
      // sent the same request id to replica 1, which proposes it again (here: a Submit message, exactly what
      // replica 1 does with a retried request it has not seen applied).
      // Replica 1 must know slot 0 already (else its attempt lands in slot 0 and finds the same value there).
      for (let t = 0; t < 400 && (await c.decidedLog(1)).values.length <= p.slot; t++) await new Promise((r) => setTimeout(r, 25));
      await c.inject(1, 0, [encode({ t: MsgType.Submit, value: `${p.requestId}:pay 10` })]);
      const mark = await c.propose('after', { via: 2 });
      let copies: number[] = [];
      for (let t = 0; t < 400; t++) {
        const log = (await c.decidedLog(0)).values;
        copies = log.flatMap((v, slot) => (v.startsWith(`${p.requestId}:`) ? [slot] : []));
        if (copies.length === 2) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(copies.length).toBe(2);
      const top = Math.max(mark.slot, ...copies);
      await settledLogs(c, top);
      for (const i of [0, 1, 2]) expect(applied.get(`${i}:${p.requestId}`)).toBe(1);
      const before = await c.stats();
      for (const r of before.replicas) expect(r?.applier.duplicates).toBeGreaterThanOrEqual(1);

      // Every replica crashes and restarts: each re-applies its log from slot 0, and still applies the request once.
      applied.clear();
      await Promise.all([0, 1, 2].map((i) => c.crash(i)));
      for (const i of [0, 1, 2]) await c.restart(i);
      const again = await c.propose('after restart', { via: 1 });
      await settledLogs(c, Math.max(top, again.slot));
      for (let t = 0; t < 400 && [0, 1, 2].some((i) => applied.get(`${i}:${again.requestId}`) !== 1); t++) await new Promise((r) => setTimeout(r, 25));
      for (const i of [0, 1, 2]) expect(applied.get(`${i}:${p.requestId}`)).toBe(1);
    } finally {
      await c.close();
    }
  });
});

describe('the dedupe window', () => {
  const decision = (slot: number, id: string): Decision => ({ slot, value: `${id}:x`, ballots: 1 });

  it('within the window a request id is applied once; beyond it (the window remembers the last N ids) it is applied again', () => {
    const appliedIds: string[] = [];
    const a = new Applier((x) => appliedIds.push(x.requestId), 3);
    a.learned(['a', 'b', 'a', 'c'].map((id, slot) => decision(slot, id)));
    expect(appliedIds).toEqual(['a', 'b', 'c']);
    expect(a.stats.duplicates).toBe(1);
    // d evicts a (the oldest of the 3 remembered): a decided again now is applied again.
    a.learned([decision(4, 'd'), decision(5, 'a')]);
    expect(appliedIds).toEqual(['a', 'b', 'c', 'd', 'a']);
    expect(DEFAULT_DEDUPE_WINDOW).toBe(1_000_000);
  });
});
