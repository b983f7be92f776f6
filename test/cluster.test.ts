/** Real worker threads: agreement across replicas, bad input, supervision, option validation, no leaks. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, OverloadError } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import { settledLogs, waitFor } from './support/wait.js';


afterAll(() => {
  expect(liveWorkers()).toBe(0);
});

describe.each([3, 5])('%i replicas in workers', (n) => {
  it('proposals from every replica at once: every replica ends with the same log, value by value', async () => {
    const c = await Cluster.start({ replicas: n, policy: 'exponential', seed: n });
    const decidedEvents = new Map<number, Map<number, string>>();
    c.on('decided', ({ replica, slot, value }) => {
      const m = decidedEvents.get(replica) ?? new Map<number, string>();
      m.set(slot, value);
      decidedEvents.set(replica, m);
    });
    try {
      expect(liveWorkers()).toBe(n);
      const per = 20;
      const values = Array.from({ length: n * per }, (_, k) => `r${k % n}-${k}`);
      const res = await Promise.all(values.map((v, k) => c.propose(v, { via: k % n })));
      const slots = res.map((r) => r.slot);
      expect(new Set(slots).size).toBe(values.length);
      const top = Math.max(...slots);
      const ids = Array.from({ length: n }, (_, i) => i);
      const logs = await settledLogs(c, top, ids);
      const ref = (logs[0] as string[]).slice(0, top + 1);
      for (const l of logs) {
        expect(l.length).toBeGreaterThan(top);
        for (let s = 0; s <= top; s++) expect(l[s]).toBe(ref[s]);
      }
      // Each proposal was applied exactly once, in the slot its promise reported.
      for (const r of res) expect(ref[r.slot]).toBe(`${r.requestId}:${r.value}`);
      expect(ref.filter((v) => v !== '').length).toBe(values.length);
      // The 'decided' events say the same thing (they travel on their own port: wait for them, bounded).
      await waitFor('every decided event', () => ids.every((i) => (decidedEvents.get(i)?.size ?? 0) >= values.length));
      for (const i of ids) for (const r of res) expect(decidedEvents.get(i)?.get(r.slot)).toBe(r.value);
      const s = await c.stats();
      for (const rep of s.replicas) {
        expect(rep).not.toBeNull();
        expect(rep!.transport.batches_sent).toBeGreaterThan(0);
        expect(rep!.latency_count).toBe(per);
        expect(rep!.latency_us.count).toBe(per);
        expect(rep!.heap_used_bytes).toBeGreaterThan(0);
      }
    } finally {
      await c.close();
    }
    expect(liveWorkers()).toBe(0);
  });
});

describe('workers: many client requests through one replica', () => {
  it('9,000 requests in waves of 200: each answered once with its own slot, across the renewals of the map of requests in flight', async () => {
    // The host renews its Map of requests in flight every 4,096 answers while at most 256 wait (host.ts, onApply):
    // with 200 in flight at every renewal, a lost entry would leave its request unanswered and the test hanging.
    const c = await Cluster.start({ replicas: 3, policy: 'leader', seed: 9 });
    try {
      const results: Array<{ slot: number; requestId: string; value: string }> = [];
      for (let wave = 0; wave < 45; wave++) {
        const values = Array.from({ length: 200 }, (_, k) => `w${wave}-${k}`);
        results.push(...(await Promise.all(values.map((v) => c.propose(v, { via: 0 })))));
      }
      expect(results).toHaveLength(9000);
      expect(new Set(results.map((r) => r.slot)).size).toBe(9000);
      expect(new Set(results.map((r) => r.requestId)).size).toBe(9000);
      const s = await c.stats();
      expect(s.replicas[0]?.latency_count).toBe(9000);
      const top = Math.max(...results.map((r) => r.slot));
      const [log] = await settledLogs(c, top, [0]);
      for (const r of results) expect((log as string[])[r.slot]).toBe(`${r.requestId}:${r.value}`);
    } finally {
      await c.close();
    }
  }, 60_000);
});

describe('workers: bad input, load, overload, supervision', () => {
  it('malformed messages injected at a port are counted and dropped; the replica keeps deciding', async () => {
    const c = await Cluster.start({ replicas: 3, policy: 'leader' });
    try {
      await c.inject(2, 0, [[99, 1], [], 'junk', [6, 1.5, 'x'], [1, -1, 2, 0], null]);
      await c.inject(2, 1, { not: 'a batch' });
      const r = await c.propose('still-alive', { via: 2 });
      expect(r.value).toBe('still-alive');
      const s = (await c.stats()).replicas[2]!;
      expect(s.driver.malformed).toBe(7);
      expect(s.driver.malformed_reason).not.toBeNull();
      expect(c.isUp(2)).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('runLoad runs a closed loop inside replicas and reports latency', async () => {
    const c = await Cluster.start({ replicas: 3, policy: 'leader', observe: false });
    try {
      const rs = await Promise.all([0, 1, 2].map((i) => c.runLoad(i, { proposals: 200, concurrency: 8, timeout_ms: 20_000 })));
      for (const r of rs) expect(r).toMatchObject({ proposed: 200, decided: 200, timed_out: false });
      const s = await c.stats();
      expect(s.replicas.map((x) => x!.latency_count)).toEqual([200, 200, 200]);
      expect(s.replicas[0]!.latency_us_p99).toBeGreaterThan(0);
    } finally {
      await c.close();
    }
  });

  it('reports overload instead of queueing without bound', async () => {
    const c = await Cluster.start({ replicas: 3, maxInFlight: 1, maxQueued: 2 });
    try {
      const ps = Array.from({ length: 6 }, (_, k) => c.propose(`o${k}`).then(() => 'ok', (e: unknown) => e));
      const out = await Promise.all(ps);
      expect(out.filter((x) => x === 'ok').length).toBe(3);
      expect(out.filter((x) => x instanceof OverloadError).length).toBe(3);
    } finally {
      await c.close();
    }
  });

  it('rejects invalid options with a one-line error before any worker starts', async () => {
    const notADir = join(mkdtempSync(join(tmpdir(), 'synod-opts-')), 'plain-file');
    writeFileSync(notADir, 'x');
    const bad: [object, RegExp][] = [
      [{ replicas: 0 }, /^replicas must be an integer in 1\.\.64, got 0$/],
      [{ replicas: 65_537 }, /^replicas must be an integer in 1\.\.64, got 65537 \(/],
      [{ replicas: 3, policy: 'nope' }, /unknown policy 'nope'/],
      [{ replicas: 3, policyParams: { window: 0 } }, /window must be/],
      [{ replicas: 3, storage: { dir: join(notADir, 'sub') } }, /storage directory '.*' cannot be written/],
      [{ replicas: 3, runtime: 'threads' }, /runtime must be/],
    ];
    for (const [opts, re] of bad) {
      const err = await Cluster.start(opts as never).then(() => null, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(re);
      expect(err!.message).not.toContain('\n');
      expect(liveWorkers()).toBe(0);
    }
  });

  it('memory storage refuses a worker restart (its state died with the worker)', async () => {
    const c = await Cluster.start({ replicas: 3 });
    try {
      await c.crash(1);
      expect(c.isUp(1)).toBe(false);
      await expect(c.restart(1)).rejects.toThrow(/memory storage/);
      const r = await c.propose('two-of-three', { via: 1 });
      expect(r.replica).not.toBe(1);
    } finally {
      await c.close();
    }
  });
});
