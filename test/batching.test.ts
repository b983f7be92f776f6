/**
 * Command batching (issue 12): a stable leader packs many client commands into
 * one slot; every command of a batch is applied once, in order, on every
 * replica, also across leader changes (a command re-batched after a leader
 * change lands in two slots and must be applied once) and across a crash and
 * restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, type DecidedEvent, type Proposed } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import { policySpec } from '../src/contention/registry.js';
import { commandsOf, encodeBatch, isBatch } from '../src/paxos/batch.js';
import { runSimulation } from '../src/sim/simulator.js';

const dir = mkdtempSync(join(tmpdir(), 'synod-batch-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(liveWorkers()).toBe(0);
});

describe('the batch encoding', () => {
  it('round-trips any list of two or more commands; one command stays itself', () => {
    const command = fc.string({ maxLength: 40 }).filter((c) => !c.startsWith('\x01'));
    fc.assert(
      fc.property(fc.array(command, { minLength: 2, maxLength: 30 }), (cmds) => {
        const v = encodeBatch(cmds);
        expect(isBatch(v)).toBe(true);
        expect(commandsOf(v)).toEqual(cmds);
      }),
    );
    expect(encodeBatch(['id:x'])).toBe('id:x');
    expect(commandsOf('id:x')).toEqual(['id:x']);
  });

  it('a damaged batch is refused whole, never split into made-up commands', () => {
    const v = encodeBatch(['ab', 'cde']);
    expect(commandsOf(v.slice(0, -1))).toBeNull();
    expect(commandsOf(`${v}z`)).toBeNull();
    expect(commandsOf('\x01')).toBeNull();
    expect(commandsOf('\x011\x012\x01ab')).toBeNull(); // a "batch" of one is not an encoding
    expect(commandsOf('\x012\x01x\x011\x01abc')).toBeNull();
  });
});

describe('batching in the simulator: leader changes, faults, crashes', () => {
  for (const policy of ['leader', 'lease'] as const) {
    it(`${policy}, batches of up to 8: 300 swarm seeds, no violation (validity checks every command), everything decided`, () => {
      const failed: string[] = [];
      let batched = 0;
      for (let seed = 61_000; seed < 61_300; seed++) {
        const r = runSimulation({ seed, replicas: 3 + (seed % 2) * 2, proposers: 3, policy: policySpec(policy), proposalsPerProposer: 12, batchMax: 8 });
        if (r.violations.length > 0 || r.livenessFailure !== null) failed.push(`${seed}: ${r.violations[0]?.invariant ?? r.livenessFailure}`);
        if (r.slotsChosen < r.proposals) batched++;
      }
      expect(failed).toEqual([]);
      // Batching happened: in most seeds fewer slots were chosen than commands proposed.
      expect(batched).toBeGreaterThan(150);
    });
  }
});

describe('batching in the worker runtime', () => {
  it('every command of every batch is applied once, in order, on every replica, across a crash and restart', async () => {
    const c = await Cluster.start({ replicas: 3, policy: 'leader', storage: { dir, fsync: 'batch' }, batch: { max: 32 }, seed: 3, timeout_ms: 3000 });
    const applied: string[][] = [[], [], []];
    c.on('decided', (e: DecidedEvent) => applied[e.replica]?.push(e.requestId));
    try {
      const first = await Promise.all(Array.from({ length: 200 }, (_, k) => c.propose(`a${k}`, { via: k % 3 })));
      await c.crash(2);
      const mid = await Promise.all(Array.from({ length: 100 }, (_, k) => c.propose(`b${k}`, { via: k % 2 })));
      await c.restart(2);
      const last = await Promise.all(Array.from({ length: 100 }, (_, k) => c.propose(`c${k}`, { via: k % 3 })));
      const all: Proposed[] = [...first, ...mid, ...last];
      const top = Math.max(...all.map((p) => p.slot));
      let logs: string[][] = [];
      for (let t = 0; t < 400; t++) {
        logs = await Promise.all([0, 1, 2].map(async (i) => (await c.decidedLog(i)).values));
        if (logs.every((l) => l.length > top)) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const ref = (logs[0] as string[]).slice(0, top + 1);
      for (const l of logs) expect(l.slice(0, top + 1)).toEqual(ref);
      // Batches happened: fewer slots than commands, and some slot holds more than one command.
      expect(ref.length).toBeLessThan(all.length);
      expect(ref.some((v) => isBatch(v))).toBe(true);
      // Each acknowledged command is in the slot it was reported in.
      for (const p of all) expect(commandsOf(ref[p.slot] ?? '')).toContain(`${p.requestId}:${p.value}`);
      // The applied order, command by command, is the log's order, on every replica (replica 2 re-applied from slot 0).
      const order = ref.flatMap((v) => (v === '' ? [] : (commandsOf(v) ?? []))).map((cmd) => cmd.slice(0, cmd.indexOf(':')));
      const once = order.filter((id, i) => order.indexOf(id) === i);
      expect(new Set(once).size).toBe(all.length);
      for (let t = 0; t < 400 && applied.some((a) => new Set(a).size < all.length); t++) await new Promise((r) => setTimeout(r, 25));
      expect(applied[0]).toEqual(once);
      expect(applied[1]).toEqual(once);
      // Replica 2 applied its pre-crash prefix, then (restarted, applier empty) the whole log again from slot 0.
      const afterRestart = (applied[2] as string[]).slice(-once.length);
      expect(afterRestart).toEqual(once);
    } finally {
      await c.close();
    }
  });

  it('batch options are refused for per-slot policies and out of range, before any worker starts', async () => {
    await expect(Cluster.start({ replicas: 3, policy: 'exponential', batch: { max: 8 } })).rejects.toThrow('batch needs a stable leader (policy leader or lease), not exponential');
    await expect(Cluster.start({ replicas: 3, policy: 'leader', batch: { max: 0 } })).rejects.toThrow('batch.max must be an integer in 1..65536, got 0');
    expect(liveWorkers()).toBe(0);
  });
});
