/**
 * (Review of 38af080.) End to end: a real 3-replica cluster on worker threads,
 * stable leader, with and without the fault layer (duplicates, reorder,
 * delays), hundreds of proposals in flight through the leader so its accepts
 * and the followers' answers travel as run frames. Every value is applied
 * exactly once on every replica, in the slot its promise reported; the logs
 * agree slot by slot; no replica saw a malformed envelope. (A duplicated,
 * delayed client submission may be decided in a second slot: the log then
 * holds its request id twice and the applier skips the second, by design.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import type { FaultSpec } from '../src/runtime/fault-transport.js';
import { settledLogs, waitFor } from './support/wait.js';

afterAll(() => {
  expect(liveWorkers()).toBe(0);
});

const N = 1200;
const CASES: [string, FaultSpec | undefined][] = [
  ['no faults', undefined],
  ['duplicate and reorder within a turn', { duplicate: 0.1, reorder: 0.2 }],
  ['duplicate, reorder and delays', { duplicate: 0.1, reorder: 0.1, delay_ms: [0, 2] }],
];

describe('run frames in a real cluster', () => {
  for (const [name, faults] of CASES) {
    it(`leader policy, ${N} client proposals then a 3,000-proposal closed loop in the leader (window 64), ${name}: each applied exactly once, logs agree`, async () => {
      const c = await Cluster.start({ replicas: 3, policy: 'leader', policyParams: { window: 64 }, seed: 61, maxInFlight: 256, timeout_ms: 3000, ...(faults === undefined ? {} : { faults }) });
      const applied = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
      const twice: string[] = [];
      c.on('decided', ({ replica, slot, value }) => {
        const m = applied[replica] as Map<string, number>;
        if (m.has(value)) twice.push(`replica ${replica}: ${value} in slots ${m.get(value)} and ${slot}`);
        m.set(value, slot);
      });
      try {
        const values = Array.from({ length: N }, (_, k) => `v${k}`);
        const res = await Promise.all(values.map((v, k) => c.propose(v, { via: k % 3 })));
        await waitFor('every decided event', () => applied.every((m) => m.size >= N));
        expect(twice).toEqual([]);
        for (const m of applied) for (const r of res) expect(m.get(r.value)).toBe(r.slot);
        // The leader sent the most (accepts to both followers); a closed loop inside it keeps 64 slots in flight.
        const mid = await c.stats();
        const leader = mid.replicas.map((r) => r?.transport.messages_sent ?? 0).reduce((b, x, i, a) => (x > (a[b] as number) ? i : b), 0);
        const load = await c.runLoad(leader, { proposals: 3000, concurrency: 64, timeout_ms: 30_000 });
        expect(load.timed_out).toBe(false);
        expect(load.decided).toBe(3000);
        const s = await c.stats();
        const top = Math.max(...s.replicas.map((r) => r?.applier.next_slot ?? 0)) - 1;
        const logs = await settledLogs(c, top);
        const ref = (logs[0] as string[]).slice(0, top + 1);
        for (const l of logs) expect(l.slice(0, top + 1)).toEqual(ref);
        for (const r of res) expect(ref[r.slot]).toBe(`${r.requestId}:${r.value}`);
        const ids = ref.filter((v) => v !== '').map((v) => v.slice(0, v.indexOf(':')));
        expect(new Set(ids).size).toBe(N + 3000); // duplicates in the log are delayed, duplicated submissions (skipped at apply)
        const after = await c.stats();
        const sent = after.replicas.map((r, i) => `${i}: ${r?.transport.messages_sent} msgs/${r?.transport.bytes_sent} B/${r?.transport.batches_sent} env, applied ${r?.applier.applied}, dup ${r?.applier.duplicates}`);
        for (const r of after.replicas) {
          expect(r?.driver.malformed, `${r?.driver.malformed_reason}`).toBe(0);
          expect(r?.driver.mailbox_drops).toBe(0);
          expect(r?.applier.applied).toBe(N + 3000);
        }
        // Runs formed: in the closed loop the followers' answers ([tag, slot, ballot], 24 bytes each as plain frames) cost less.
        const followers = [0, 1, 2].filter((i) => i !== leader).map((i) => [mid.replicas[i], after.replicas[i]]);
        const perMsg = followers.map(([a, b]) => ((b?.transport.bytes_sent ?? 0) - (a?.transport.bytes_sent ?? 0)) / ((b?.transport.messages_sent ?? 0) - (a?.transport.messages_sent ?? 0)));
        if (faults === undefined) expect(perMsg.every((x) => x < 12), sent.join('; ')).toBe(true);
      } finally {
        await c.close();
      }
    }, 60_000);
  }
});
