/**
 * The state machine inside every replica: the same commands give the same
 * state everywhere (also across a crash and restart), a retried request is
 * applied once and gets the first result, an apply that throws is that
 * command's result (the same error everywhere, nothing lost), and a module
 * that cannot be loaded is one clear error at start.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Cluster, CommandError, type ClusterOptions } from '../src/cluster/index.js';
import { liveWorkers } from '../src/cluster/member.js';
import { policySpec } from '../src/contention/registry.js';
import { Applier } from '../src/runtime/applier.js';
import { Op, Reply, decodeResult, type HostBatch } from '../src/runtime/client-wire.js';
import { ReplicaHost } from '../src/runtime/host.js';
import { InlineHub, InlineTransport } from '../src/runtime/inline-transport.js';
import { StateMachineRunner, loadStateMachineFactory } from '../src/runtime/state-machine.js';
import { openStorage } from '../src/storage/index.js';
import { createStateMachine as ledger, type LedgerCommand } from './fixtures/ledger-machine.js';
import { tmpDir } from './support/storage-files.js';

const LEDGER = new URL('./fixtures/ledger-machine.ts', import.meta.url);
const fixture = (name: string): URL => new URL(`./fixtures/${name}.ts`, import.meta.url);

afterAll(() => {
  expect(liveWorkers()).toBe(0);
});

/** Waits (bounded) until `done` holds, checking every 10 ms. */
async function until(done: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  for (const t0 = performance.now(); performance.now() - t0 < ms; ) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Every replica's digest, once all have applied the same number of slots (at least `slots`). */
async function settledDigests(c: Cluster, slots: number): Promise<string[]> {
  let out: Array<{ answer: unknown; appliedIndex: number }> = [];
  await until(async () => {
    out = await Promise.all([0, 1, 2].map((via) => c.read({ op: 'digest' }, { consistency: 'stale', via })));
    return out.every((r) => r.appliedIndex >= slots && r.appliedIndex === out[0]?.appliedIndex);
  }, `every replica to apply ${slots} slots`);
  return out.map((r) => r.answer as string);
}

/** The digest a single local instance reaches on `commands` in slot order. */
function replayDigest(commands: Array<{ slot: number; command: LedgerCommand }>): string {
  const m = ledger();
  for (const { command } of [...commands].sort((a, b) => a.slot - b.slot)) m.apply(command);
  return m.query({ op: 'digest' }) as string;
}

describe('StateMachineRunner', () => {
  it('applies JSON commands, turns a throw into an error result, and guards the clock and randomness only while apply runs', () => {
    const r = new StateMachineRunner(ledger());
    expect(r.apply(JSON.stringify({ op: 'add', account: 'a', amount: 2 }))).toBe('v2');
    const failed = r.apply(JSON.stringify({ op: 'fail', why: 'x' }));
    expect(failed).toBe('e{"name":"RangeError","message":"refused: x"}');
    expect(decodeResult(r.apply(JSON.stringify({ op: 'random' })))).toEqual({ ok: false, name: 'Error', message: 'apply called Math.random: a state machine must be deterministic (no clock, no randomness)' });
    expect(decodeResult(r.apply(JSON.stringify({ op: 'clock' })))).toEqual({ ok: false, name: 'Error', message: 'apply called Date.now: a state machine must be deterministic (no clock, no randomness)' });
    expect(decodeResult(r.apply('not json')).ok).toBe(false);
    expect(r.applyErrors).toBe(4);
    // Restored after apply.
    expect(typeof Math.random()).toBe('number');
    expect(Date.now()).toBeGreaterThan(0);
    expect(typeof performance.now()).toBe('number');
    expect(r.query(JSON.stringify({ op: 'balance', account: 'a' }))).toBe('v2');
    expect(r.query(JSON.stringify({ op: 'throw' }))).toBe('e{"name":"Error","message":"this query fails on purpose"}');
    expect(r.queryErrors).toBe(1);
  });
});

describe('Applier with a state machine', () => {
  const add = (id: string, amount: number): string => `${id}:${JSON.stringify({ op: 'add', account: 'a', amount })}`;

  it('applies a request decided twice once, and keeps its first result for the retry', () => {
    const results: Array<string | null> = [];
    const a = new Applier((x) => results.push(x.result), 10, 100, { machine: new StateMachineRunner(ledger()) });
    a.learned([{ slot: 0, value: add('r1', 5), ballots: 0 }, { slot: 1, value: add('r2', 1), ballots: 0 }, { slot: 2, value: add('r1', 5), ballots: 0 }]);
    expect(results).toEqual(['v5', 'v6']);
    expect(a.stats).toMatchObject({ applied: 2, duplicates: 1 });
    expect([a.slotOf('r1'), a.resultOf('r1'), a.resultOf('r2')]).toEqual([0, 'v5', 'v6']);
  });

  it('forgets a result with its request id, beyond the dedupe window', () => {
    const a = new Applier(() => {}, 2, 100, { machine: new StateMachineRunner(ledger()) });
    a.learned([0, 1, 2].map((k) => ({ slot: k, value: add(`r${k}`, 1), ballots: 0 })));
    expect([a.resultOf('r0'), a.resultOf('r1'), a.resultOf('r2')]).toEqual([undefined, 'v2', 'v3']);
  });
});

describe('a retried request on one replica host', () => {
  it('is applied once; the retry gets the cached result of the first application', async () => {
    const host = new ReplicaHost(
      { id: 0, nodes: 1, policy: policySpec('exponential'), storage: openStorage({ kind: 'memory' }, { replica: 0, replicas: 1 }), observe: false, stateMachine: LEDGER.href },
      new InlineTransport(0, new InlineHub(1)),
      { stateMachine: ledger() },
    );
    const replies: unknown[] = [];
    host.setClientOut((b: HostBatch) => replies.push(...b[0]));
    try {
      const cmd = JSON.stringify({ op: 'add', account: 'a', amount: 7 });
      host.clientIn([Op.Propose, 'r1', cmd]);
      await until(() => replies.length === 4, 'the first reply');
      host.clientIn([Op.Propose, 'r1', cmd, Op.ReadStale, 'q1', JSON.stringify({ op: 'digest' })]);
      await until(() => replies.length === 12, 'the retry and the read');
      expect(replies).toEqual([
        Reply.Decided, 'r1', 0, 'v7',
        Reply.Decided, 'r1', 0, 'v7',
        Reply.Read, 'q1', 1, `v${JSON.stringify(JSON.stringify({ commands: 1, balances: [['a', 7]] }))}`,
      ]);
    } finally {
      host.close();
    }
  });
});

describe('the state machine in every replica', () => {
  it.each([
    ['workers', 'file'],
    ['inline', 'memory'],
  ] as const)('%s runtime, %s storage: the same commands give the same state on every replica, also across a crash and restart', async (runtime, storage) => {
    const c = await Cluster.start({
      replicas: 3, runtime, policy: 'leader', storage: storage === 'file' ? { dir: tmpDir() } : 'memory', stateMachine: LEDGER, seed: 4, timeout_ms: 3000,
    });
    const done: Array<{ slot: number; command: LedgerCommand }> = [];
    const propose = async (command: LedgerCommand, via: number): Promise<void> => {
      const p = await c.propose<number>(command, { via });
      done.push({ slot: p.slot, command });
    };
    try {
      await Promise.all(Array.from({ length: 30 }, (_, k) => propose({ op: 'add', account: `acct${k % 4}`, amount: k + 1 }, k % 3)));
      let top = Math.max(...done.map((d) => d.slot)) + 1;
      const before = await settledDigests(c, top);
      expect(new Set(before).size).toBe(1);
      expect(before[0]).toBe(replayDigest(done));

      await c.crash(1);
      await Promise.all(Array.from({ length: 20 }, (_, k) => propose({ op: 'add', account: `acct${k % 5}`, amount: -k }, k % 2 === 0 ? 0 : 2)));
      await c.restart(1);
      await Promise.all(Array.from({ length: 10 }, (_, k) => propose({ op: 'add', account: 'late', amount: k }, k % 3)));
      top = Math.max(...done.map((d) => d.slot)) + 1;
      const after = await settledDigests(c, top);
      expect(after).toEqual([after[0], after[0], after[0]]);
      expect(after[0]).toBe(replayDigest(done));
      expect(JSON.parse(after[0] ?? '{}')).toMatchObject({ commands: 60 });
    } finally {
      await c.close();
    }
  });

  it('an apply that throws is the command\'s result on every replica: CommandError, decided, nothing lost', async () => {
    const c = await Cluster.start({ replicas: 3, policy: 'lease', stateMachine: LEDGER, seed: 5 });
    try {
      const first = await c.propose<number>({ op: 'add', account: 'a', amount: 3 }, { via: 1 });
      expect(first.result).toBe(3);
      const failed = await c.propose({ op: 'fail', why: 'on purpose' }, { via: 2 }).then(() => null, (e: unknown) => e);
      expect(failed).toBeInstanceOf(CommandError);
      const e = failed as CommandError;
      expect([e.errorName, e.slot, e.message]).toEqual(['RangeError', first.slot + 1, `the command decided in slot ${first.slot + 1} threw in apply (on every replica; it stays decided): RangeError: refused: on purpose`]);
      await expect(c.propose({ op: 'random' })).rejects.toThrow(/apply called Math\.random: a state machine must be deterministic/);
      const next = await c.propose<number>({ op: 'add', account: 'a', amount: 4 }, { via: 0 });
      expect(next.result).toBe(7);
      const digests = await settledDigests(c, next.slot + 1);
      expect(digests).toEqual(Array.from({ length: 3 }, () => JSON.stringify({ commands: 4, balances: [['a', 7]] })));
      const stats = await c.stats();
      expect(stats.replicas.map((r) => r?.state_machine)).toEqual(Array.from({ length: 3 }, () => ({ apply_errors: 2, query_errors: 0 })));
    } finally {
      await c.close();
    }
  });

  it('without a state machine, values stay strings and there is no result or read', async () => {
    const c = await Cluster.start({ replicas: 3, runtime: 'inline' });
    try {
      const p = await c.propose('plain');
      expect([p.value, p.result]).toEqual(['plain', undefined]);
      await expect(c.propose({ op: 'add' })).rejects.toThrow('command must be a string (with a stateMachine, any JSON value)');
      await expect(c.read('x')).rejects.toThrow('reads need a state machine: Cluster.start({ stateMachine })');
      expect((await c.stats()).replicas.map((r) => r?.state_machine)).toEqual([null, null, null]);
    } finally {
      await c.close();
    }
  });
});

describe('a state machine module that cannot be loaded', () => {
  const cases: Array<[string, URL | string, RegExp]> = [
    ['a missing file', '/nonexistent/machine.ts', /^stateMachine: no such file \/nonexistent\/machine\.ts$/],
    ['a module that throws at import', fixture('sm-throws-on-load'), /^stateMachine file:.*sm-throws-on-load\.ts: cannot load the module: broken on purpose at import$/],
    ['a module with no factory', fixture('sm-no-factory'), /^stateMachine file:.*sm-no-factory\.ts: exports no factory \(export a function named createStateMachine, or a default function\)$/],
    ['a factory that returns no machine', fixture('sm-bad-factory'), /^stateMachine file:.*sm-bad-factory\.ts: the factory must return an object with apply\(command\) and query\(q\) methods$/],
    ['not a URL or path', 42 as unknown as string, /^stateMachine must be a URL or a path to a module, got 42$/],
  ];
  for (const runtime of ['workers', 'inline'] as const) {
    for (const [what, spec, message] of cases) {
      it(`${runtime}: ${what} is one clear error at start, and no replica is left running`, async () => {
        const opts: ClusterOptions = { replicas: 3, runtime, stateMachine: spec };
        await expect(Cluster.start(opts)).rejects.toThrow(message);
        expect(liveWorkers()).toBe(0);
      });
    }
  }

  it('the loader alone says the same (what a worker reports if the module breaks between the check and its start)', async () => {
    await expect(loadStateMachineFactory(fixture('sm-no-factory').href)).rejects.toThrow(/exports no factory/);
  });
});
