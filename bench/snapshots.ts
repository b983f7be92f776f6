/**
 * The snapshot targets of issue 17, measured (not tests: the figures go into
 * docs/reliability.md with the commands that made them).
 *
 *   catchup   3 replicas (workers, leader policy); replica 2 is cut off while
 *             replica 0 decides --slots slots, then the partition heals: how
 *             long until replica 2 has applied everything, and what was sent.
 *   restart   3 replicas on file storage; --commands commands (batched by the
 *             leader), then replica 1 is crashed and restarted: the size of
 *             what it reads back and how long the restart takes, with
 *             snapshots (--snapshot-every) and without (0: a full replay).
 *
 *   tsc -p bench/tsconfig.json && node dist/bench/snapshots.js catchup [--slots 100000] [--via client|load] [--snapshot-every 100000]
 *   window    the dedupe window's part of a snapshot, without a cluster: --ids
 *             client request ids applied, then a snapshot captured and encoded
 *             16,384 ids a step while 2,000 more commands are applied between
 *             steps (copy on write); the step times, and decode + restore.
 *
 *   tsc -p bench/tsconfig.json && node dist/bench/snapshots.js window [--ids 1000000]
 *   tsc -p bench/tsconfig.json && node dist/bench/snapshots.js restart [--commands 1000000] [--snapshot-every 100000] [--batch 64] [--dir /tmp]
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { nanoid } from 'nanoid';
import { Cluster, type ClusterStats } from '../src/cluster/index.js';
import { Applier } from '../src/runtime/applier.js';
import { SnapshotEncoder, decodeSnapshot, encodeSnapshot } from '../src/runtime/snapshot-codec.js';
import { ENTRIES_PER_STEP } from '../src/runtime/snapshots.js';

async function until(what: string, c: Cluster, done: (s: ClusterStats) => boolean, bound_ms: number): Promise<ClusterStats> {
  const end = performance.now() + bound_ms;
  for (;;) {
    const s = await c.stats();
    if (done(s)) return s;
    if (performance.now() > end) throw new Error(`still waiting after ${bound_ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const applied = (s: ClusterStats, i: number): number => s.replicas[i]?.applier.next_slot ?? -1;
const sentBytes = (s: ClusterStats): number => s.replicas.reduce((n, r) => n + (r?.transport.bytes_sent ?? 0), 0);

/** `slots` commands: from the main thread through the client API (nanoid request ids, kept in the dedupe table), or the load generator. */
async function decide(c: Cluster, slots: number, via: 'client' | 'load'): Promise<number> {
  if (via === 'load') return (await c.runLoad(0, { proposals: slots, concurrency: 64 })).decided;
  let next = 0;
  let decided = 0;
  const worker = async (): Promise<void> => {
    while (next < slots) {
      next++;
      await c.propose(`command-${next}`, { via: 0 });
      decided++;
    }
  };
  await Promise.all(Array.from({ length: 128 }, worker));
  return decided;
}

async function catchup(slots: number, via: 'client' | 'load', snapshotEvery: number): Promise<void> {
  const c = await Cluster.start({ replicas: 3, policy: 'leader', faults: true, observe: false, seed: 17, snapshotEvery, maxInFlight: 256 });
  try {
    await decide(c, 1000, via);
    await until('a settled start', c, (s) => [0, 1, 2].every((i) => applied(s, i) === applied(s, 0)), 10_000);
    c.faults.partition([[0, 1], [2]]);
    const cut = applied(await c.stats(), 2);
    const t_load = performance.now();
    const load = { decided: await decide(c, slots, via) };
    const load_s = (performance.now() - t_load) / 1000;
    let s = await until('replica 1 to apply the load', c, (x) => applied(x, 1) === applied(x, 0), 60_000);
    const behind = s.behind[2] ?? -1;
    const before = { bytes: sentBytes(s), chunks: s.replicas.reduce((n, r) => n + (r?.replica.snapshotChunksSent ?? 0), 0), in2: s.replicas[2]?.replica.messagesIn ?? 0, sent: s.replicas.reduce((n, r) => n + (r?.transport.messages_sent ?? 0), 0) };
    if (process.env.SNAP_DEBUG) console.log(JSON.stringify(s.replicas[2]?.replica), JSON.stringify(s.replicas.map((r) => r?.transport)));
    const t0 = performance.now();
    c.faults.heal();
    let installed_ms = -1;
    s = await until('replica 2 to catch up', c, (x) => {
      if (installed_ms < 0 && (x.replicas[2]?.snapshot.installed ?? 0) > 0) installed_ms = performance.now() - t0;
      return x.behind[2] === 0;
    }, 120_000);
    const catchup_ms = performance.now() - t0;
    const r2 = s.replicas[2];
    if (process.env.SNAP_DEBUG) console.log(JSON.stringify(s.replicas[2]?.replica), JSON.stringify(s.replicas.map((r) => r?.transport)));
    const out = {
      commands_via: via,
      snapshot_every: snapshotEvery,
      slots_decided_while_cut: load.decided,
      decided_per_s_while_cut: Math.round(load.decided / load_s),
      behind_slots_at_heal: behind,
      cut_at_slot: cut,
      catchup_ms: Math.round(catchup_ms),
      snapshot_installed_after_ms: Math.round(installed_ms),
      snapshot_index: r2?.snapshot.index,
      snapshot_bytes: r2?.snapshot.bytes,
      snapshots_installed: r2?.snapshot.installed,
      chunks_received: r2?.replica.snapshotChunksReceived,
      tail_slots_after_snapshot: applied(s, 2) - (r2?.snapshot.index ?? 0),
      chunks_sent: s.replicas.reduce((n, r) => n + (r?.replica.snapshotChunksSent ?? 0), 0) - before.chunks,
      mesh_bytes_sent_during_catchup: sentBytes(s) - before.bytes,
      mesh_messages_sent_during_catchup: s.replicas.reduce((n, r) => n + (r?.transport.messages_sent ?? 0), 0) - before.sent,
      messages_received_by_replica_2: (r2?.replica.messagesIn ?? 0) - before.in2,
    };
    console.log(JSON.stringify(out, null, 2));
  } finally {
    await c.close();
  }
}

function dirBytes(dir: string, id: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of readdirSync(dir)) if (f.startsWith(`replica-${id}.`)) out[f] = statSync(join(dir, f)).size;
  return out;
}

async function restart(commands: number, snapshotEvery: number, batch: number, root: string): Promise<void> {
  const dir = mkdtempSync(join(root, 'synod-restart-'));
  const c = await Cluster.start({ replicas: 3, policy: 'leader', storage: { dir }, observe: false, seed: 17, snapshotEvery, batch: { max: batch } });
  try {
    const t0 = performance.now();
    const share = Math.floor(commands / 3);
    const load = await Promise.all([0, 1, 2].map((i) => c.runLoad(i, { proposals: i === 0 ? commands - 2 * share : share, concurrency: 256 })));
    const load_s = (performance.now() - t0) / 1000;
    const decided = load.reduce((n, l) => n + l.decided, 0);
    let s = await until('every replica settled', c, (x) => x.behind.every((b) => b === 0), 60_000);
    const slots = applied(s, 1);
    await c.crash(1);
    const files = dirBytes(dir, 1);
    const r0 = performance.now();
    await c.restart(1);
    const restart_ms = performance.now() - r0;
    // Without snapshots a replica behind the others' retained window never catches up: bounded wait, no error.
    const c0 = performance.now();
    s = await until('replica 1 caught up', c, (x) => x.behind[1] === 0 || performance.now() - c0 > 20_000, 60_000);
    const r1 = s.replicas[1];
    console.log(JSON.stringify({
      snapshot_every: snapshotEvery,
      batch_max: batch,
      commands_decided: decided,
      commands_per_s: Math.round(decided / load_s),
      slots,
      files_of_replica_1: files,
      log_bytes: files['replica-1.log'],
      restart_ms: Math.round(restart_ms),
      restored_snapshot: r1?.snapshot.restored,
      applied_after_restart: applied(s, 1),
      caught_up_ms: s.behind[1] === 0 ? Math.round(performance.now() - c0) : 'never (behind the others\' retained window)',
    }, null, 2));
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function window(ids: number): void {
  const a = new Applier(() => {});
  let slot = 0;
  const commands = (n: number): { slot: number; value: string; ballots: number }[] => Array.from({ length: n }, () => ({ slot: slot++, value: `${nanoid()}:payload`, ballots: 0 }));
  a.learned(commands(ids));
  const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
  for (let run = 1; run <= 3; run++) {
    const t0 = performance.now();
    const enc = new SnapshotEncoder({ ...a.captureState(), app: new Uint8Array(0) });
    const capture_ms = performance.now() - t0;
    const steps: number[] = [];
    for (let done = false; !done; ) {
      a.learned(commands(2000));
      const s0 = performance.now();
      done = enc.step(ENTRIES_PER_STEP);
      steps.push(performance.now() - s0);
    }
    const bytes = enc.finish();
    a.releaseCapture();
    const r0 = performance.now();
    new Applier(() => {}).restoreState(decodeSnapshot(bytes).applier);
    const restore_ms = performance.now() - r0;
    // What the capture would cost read and encoded whole at the snapshot point (inside the turn).
    const w0 = performance.now();
    encodeSnapshot(a.exportState(), new Uint8Array(0));
    const whole_ms = performance.now() - w0;
    steps.sort((x, y) => x - y);
    const f = (x: number): number => Math.round(x * 100) / 100;
    console.log(JSON.stringify({ run, ids, bytes: bytes.length, capture_ms: f(capture_ms), steps: steps.length, step_ms_p50: f(pct(steps, 0.5)), step_ms_p90: f(pct(steps, 0.9)), step_ms_max: f(pct(steps, 1)), whole_in_one_go_ms: Math.round(whole_ms), decode_and_restore_ms: Math.round(restore_ms) }));
  }
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { slots: { type: 'string' }, via: { type: 'string' }, batch: { type: 'string' }, ids: { type: 'string' }, commands: { type: 'string' }, 'snapshot-every': { type: 'string' }, dir: { type: 'string' } }, strict: true });
  } catch (e) {
    process.stderr.write(`snapshots: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    return 2;
  }
  const [what] = parsed.positionals;
  const int = (name: string, raw: string | undefined, dflt: number, min: number): number => {
    const n = Number(raw ?? dflt);
    if (!Number.isInteger(n) || n < min || n > 100_000_000) throw new RangeError(`--${name} must be an integer in ${min}..100000000, got ${raw}`);
    return n;
  };
  try {
    const via = parsed.values.via ?? 'client';
    if (via !== 'client' && via !== 'load') throw new RangeError(`--via must be client or load, got ${via}`);
    if (what === 'window') window(int('ids', parsed.values.ids, 1_000_000, 1));
    else if (what === 'catchup') await catchup(int('slots', parsed.values.slots, 100_000, 1), via, int('snapshot-every', parsed.values['snapshot-every'], 100_000, 1));
    else if (what === 'restart') {
      await restart(int('commands', parsed.values.commands, 1_000_000, 3), int('snapshot-every', parsed.values['snapshot-every'], 100_000, 0), int('batch', parsed.values.batch, 64, 1), parsed.values.dir ?? tmpdir());
    }
    else {
      process.stderr.write(`snapshots: say catchup, restart or window, got ${String(what)}\n`);
      return 2;
    }
  } catch (e) {
    if (e instanceof RangeError) {
      process.stderr.write(`snapshots: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return 0;
}

process.exitCode = await main();
