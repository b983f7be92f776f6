/**
 * `npm run chaos -- --minutes 10`: a bounded soak of the worker runtime under
 * faults. The time is split across the policies; each policy gets one cluster
 * (its workers live for its whole share, so their memory at start and end
 * says whether anything grows) and runs rounds of `--round`, each checked
 * (agreement, durable, real-time, linearizable) and then forgotten, so this
 * process stays bounded too. Prints one line per round and a summary; exit 0
 * only with zero violations and every round proven linearizable (a check that
 * ran out of budget fails the run unless --allow-unknown). Bad flags: one
 * line on stderr, exit 2.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICY_NAMES } from '../contention/registry.js';
import { liveWorkers } from '../cluster/member.js';
import { PLANTED_BUGS } from '../cluster/options.js';
import type { FsyncMode } from '../storage/storage.js';
import type { ReadConsistency, ReplicaTuning } from '../cluster/index.js';
import { FAULT_OPTIONS, faultHelp, faultsFromFlags, parseDuration_ms, type FaultFlags } from './flags.js';
import { ChaosSession, type RoundReport } from './run.js';
import { DEFAULT_MAX_MS, DEFAULT_MAX_STEPS } from '../verify/linearizability.js';

const HELP = `usage: npm run chaos -- [options]
  --minutes N              total soak time (default 1); or --seconds N
  --round T                one checked round (default 30s)
  --replicas N             3..9 (default 3)
  --policy LIST            all | comma-separated names: ${POLICY_NAMES.join(', ')} (default all)
  --storage KIND           file (default; allows crashes) | memory
  --fsync MODE             batch (default) | always
  --seed N                 (default 1)
  --clients N              closed-loop clients (default 6)
  --keys N                 keys per round (default 3)
  --reads LIST             gets become reads of the KV example (examples/kv.ts) as the replicas' state
                           machine, each of a consistency from LIST: linearizable,lease (lease is used
                           under policy lease only; stale is refused: not linearizable). Default: gets
                           go through the log
  --lin-time T             time bound of each round's linearizability check (default 60s; 0 checks nothing)
  --lin-steps N            step budget of that check per key (default 20000000)
  --allow-unknown          accept rounds whose linearizability check ran out of budget
                           (by default such a round is reported and fails the run)
  --bug NAME               plant a core bug to see the checks fail (exit 1): ${PLANTED_BUGS.join(', ')}
  --snapshot-every N       each replica snapshots every N applied commands (default 100000; 0: none); with a
                           small N and --retain, snapshots, compaction and catch-up run under the faults
  --retain N               decided slots each replica keeps for its peers (default 10000)
${faultHelp()}
  defaults: --drop 5% --delay 0-2ms --dup 1% --reorder 5% --partition-every 5s --pause-every 3s --pause 200ms --crash-every 10s
  --json                   also print the summary as JSON`;

interface Args {
  total_ms: number;
  round_ms: number;
  replicas: number;
  policies: string[];
  storage: 'file' | 'memory';
  fsync: FsyncMode;
  seed: number;
  clients: number;
  keys: number;
  lin: { maxMs: number; maxSteps: number };
  allowUnknown: boolean;
  bug: string | null;
  flags: FaultFlags;
  json: boolean;
  reads: ReadConsistency[] | null;
  snapshotEvery: number | null;
  retain: number | null;
}

function intFlag(name: string, raw: string | undefined, d: number, lo: number, hi: number): number {
  if (raw === undefined) return d;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new RangeError(`--${name} must be an integer in ${lo}..${hi}, got '${raw}'`);
  return n;
}

function parse(argv: string[]): Args | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      round: { type: 'string' },
      replicas: { type: 'string' },
      policy: { type: 'string' },
      storage: { type: 'string' },
      fsync: { type: 'string' },
      seed: { type: 'string' },
      clients: { type: 'string' },
      keys: { type: 'string' },
      reads: { type: 'string' },
      'lin-time': { type: 'string' },
      'lin-steps': { type: 'string' },
      'allow-unknown': { type: 'boolean' },
      bug: { type: 'string' },
      'snapshot-every': { type: 'string' },
      retain: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...FAULT_OPTIONS,
    },
  });
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new RangeError(`unexpected argument '${positionals[0]}'`);
  let total_ms = 60_000;
  if (values.minutes !== undefined && values.seconds !== undefined) throw new RangeError('give --minutes or --seconds, not both');
  if (values.minutes !== undefined) {
    const m = Number(values.minutes);
    if (!Number.isFinite(m) || m <= 0 || m > 24 * 60) throw new RangeError(`--minutes must be a number in (0, 1440], got '${values.minutes}'`);
    total_ms = m * 60_000;
  }
  if (values.seconds !== undefined) total_ms = intFlag('seconds', values.seconds, 60, 1, 86_400) * 1000;
  const round_ms = values.round === undefined ? 30_000 : parseDuration_ms('round', values.round);
  if (round_ms < 500) throw new RangeError(`--round must be at least 500ms, got '${values.round}'`);
  const policies = values.policy === undefined || values.policy === 'all' ? [...POLICY_NAMES] : values.policy.split(',');
  for (const p of policies) if (!(POLICY_NAMES as readonly string[]).includes(p)) throw new RangeError(`--policy: unknown policy '${p}' (${POLICY_NAMES.join(', ')}, all)`);
  const storage = values.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') throw new RangeError(`--storage must be file or memory, got '${storage}'`);
  const fsync = values.fsync ?? 'batch';
  if (fsync !== 'batch' && fsync !== 'always') throw new RangeError(`--fsync must be batch or always, got '${fsync}'`);
  // The soak's defaults are faults on; a flag overrides its own default only.
  const defaults: Record<string, string> = { drop: '5%', delay: '0-2ms', dup: '1%', reorder: '5%', 'partition-every': '5s', 'pause-every': '3s', pause: '200ms', 'crash-every': storage === 'file' ? '10s' : '0' };
  const fv: Record<string, string | undefined> = {};
  for (const k of Object.keys(FAULT_OPTIONS)) fv[k] = (values as Record<string, string | undefined>)[k] ?? defaults[k];
  const flags = faultsFromFlags(fv);
  if (storage === 'memory' && flags.crashEvery_ms > 0) throw new RangeError('--crash-every needs --storage file (a memory replica cannot restart)');
  if (storage === 'memory' && flags.crashAllEvery_ms > 0) throw new RangeError('--crash-all-every needs --storage file (a memory replica cannot restart)');
  return {
    total_ms,
    round_ms,
    replicas: intFlag('replicas', values.replicas, 3, 3, 9),
    policies,
    storage,
    fsync,
    seed: intFlag('seed', values.seed, 1, -(2 ** 31), 2 ** 31 - 1),
    clients: intFlag('clients', values.clients, 6, 1, 256),
    keys: intFlag('keys', values.keys, 3, 1, 1000),
    lin: {
      maxMs: values['lin-time'] === undefined ? DEFAULT_MAX_MS : parseDuration_ms('lin-time', values['lin-time']),
      maxSteps: intFlag('lin-steps', values['lin-steps'], DEFAULT_MAX_STEPS, 1, 1_000_000_000),
    },
    allowUnknown: values['allow-unknown'] === true,
    bug: plantedBug(values.bug),
    flags,
    json: values.json === true,
    reads: values.reads === undefined ? null : readModes(values.reads),
    snapshotEvery: values['snapshot-every'] === undefined ? null : intFlag('snapshot-every', values['snapshot-every'], 0, 0, 1_000_000_000),
    retain: values.retain === undefined ? null : intFlag('retain', values.retain, 0, 1, 1 << 20),
  };
}

/** The replicas' tuning: a planted bug and the retained window, as given. */
function tuningOf(a: Args): ReplicaTuning | undefined {
  if (a.bug === null && a.retain === null) return undefined;
  return { ...(a.bug === null ? {} : { bugs: { [a.bug]: true } }), ...(a.retain === null ? {} : { retainDecided: a.retain }) };
}

function readModes(raw: string): ReadConsistency[] {
  const modes = raw.split(',');
  for (const m of modes) {
    if (m === 'stale') throw new RangeError('--reads: stale reads are not linearizable, so the check would flag them; use linearizable,lease');
    if (m !== 'linearizable' && m !== 'lease') throw new RangeError(`--reads: unknown consistency '${m}' (linearizable, lease)`);
  }
  return modes as ReadConsistency[];
}

/** Lease reads need the lease policy: under the others a list of lease alone becomes linearizable. */
function usableReads(modes: readonly ReadConsistency[], policy: string): ReadConsistency[] {
  const usable = modes.filter((m) => m !== 'lease' || policy === 'lease');
  return usable.length > 0 ? usable : ['linearizable'];
}

function plantedBug(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (!PLANTED_BUGS.includes(raw)) throw new RangeError(`--bug must be one of ${PLANTED_BUGS.join(', ')}, got '${raw}'`);
  return raw;
}

const mib = (b: number | null): string => (b === null ? 'down' : (b / 2 ** 20).toFixed(1));

function emptyTotals() {
  return { rounds: 0, ops: 0, ok: 0, unknown: 0, violations: 0, unchecked: 0, core_conflicts: 0, partitions: 0, pauses: 0, crashes: 0, restarts: 0, wholeCrashes: 0, wholeCrashesSkipped: 0, dropped: 0, duplicated: 0, reordered: 0, delayed: 0 };
}
type Totals = ReturnType<typeof emptyTotals>;

/** 'whole N ' (and how many were skipped: a replica down for good) when whole-cluster crashes were asked for; else ''. */
function wholeCrashes(n: { wholeCrashes: number; wholeCrashesSkipped: number }): string {
  if (n.wholeCrashes === 0 && n.wholeCrashesSkipped === 0) return '';
  return `whole ${n.wholeCrashes}${n.wholeCrashesSkipped > 0 ? ` (${n.wholeCrashesSkipped} skipped: a replica was down)` : ''} `;
}

/** Adds one round to the totals and prints its line (and, when not ok, what the linearizability check said). */
function countRound(totals: Totals, policy: string, r: RoundReport): void {
  totals.rounds++;
  totals.ops += r.ops;
  totals.ok += r.ok;
  totals.unknown += r.unknown;
  totals.violations += r.violation_count;
  totals.core_conflicts += r.core_conflicts;
  if (r.linearizability === 'unknown') totals.unchecked++;
  totals.partitions += r.nemesis.partitions;
  totals.pauses += r.nemesis.pauses;
  totals.crashes += r.nemesis.crashes;
  totals.restarts += r.nemesis.restarts;
  totals.wholeCrashes += r.nemesis.wholeCrashes;
  totals.wholeCrashesSkipped += r.nemesis.wholeCrashesSkipped;
  totals.dropped += r.faults.dropped;
  totals.duplicated += r.faults.duplicated;
  totals.reordered += r.faults.reordered;
  totals.delayed += r.faults.delayed;
  console.log(
    `round ${String(totals.rounds).padStart(3)} ${policy.padEnd(11)} ${(r.duration_ms / 1000).toFixed(1)}s ops ${r.ops} (ok ${r.ok}, unknown ${r.unknown}) slots ${r.slots} ` +
      `lin ${r.linearizability} violations ${r.violation_count} core-conflicts ${r.core_conflicts} | partitions ${r.nemesis.partitions} pauses ${r.nemesis.pauses} crashes ${r.nemesis.crashes}/${r.nemesis.restarts} ${wholeCrashes(r.nemesis)}` +
      `dropped ${r.faults.dropped} dup ${r.faults.duplicated} reordered ${r.faults.reordered} delayed ${r.faults.delayed}` +
      (r.nemesis.errors.length > 0 ? ` | nemesis errors: ${r.nemesis.errors[0]}` : ''),
  );
  if (r.linearizability === 'unknown') console.log(`  linearizability unknown: ${r.lin_detail}`);
}

/** The verdict line on rounds whose check ran out of budget: they fail the run unless allowed. */
function uncheckedLine(unchecked: number, allowed: boolean): string | null {
  if (unchecked === 0) return null;
  if (allowed) return `${unchecked} round(s) not proven linearizable (the check ran out of budget): accepted by --allow-unknown`;
  return `FAIL: ${unchecked} round(s) not proven linearizable (the check ran out of budget); raise --lin-time or --lin-steps, or pass --allow-unknown to accept`;
}

async function main(): Promise<number> {
  let args: Args | 'help';
  try {
    args = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`chaos: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    return 2;
  }
  if (args === 'help') {
    console.log(HELP);
    return 0;
  }
  const a = args;
  const dir = a.storage === 'file' ? mkdtempSync(join(tmpdir(), 'synod-soak-')) : null;
  const share_ms = a.total_ms / a.policies.length;
  const f = a.flags;
  console.log(
    `chaos soak: ${(a.total_ms / 60_000).toFixed(2)} min, ${a.replicas} replicas, policies ${a.policies.join(',')}, storage ${a.storage}${dir === null ? '' : ` (fsync ${a.fsync})`}, seed ${a.seed}, ` +
      `gets ${a.reads === null ? 'through the log' : `as KV reads (${a.reads.join(',')})`}; ` +
      `${a.snapshotEvery === null ? '' : `snapshot every ${a.snapshotEvery} commands; `}${a.retain === null ? '' : `retain ${a.retain} slots; `}` +
      `faults ${JSON.stringify(f.faults)} partition-every ${f.partitionEvery_ms}ms pause-every ${f.pauseEvery_ms}ms (${f.pause_ms}ms) crash-every ${f.crashEvery_ms}ms crash-all-every ${f.crashAllEvery_ms}ms`,
  );
  const totals = emptyTotals();
  const memory: { policy: string; start_mib: string[]; end_mib: string[] }[] = [];
  const firstViolations: string[] = [];
  const t0 = performance.now();
  const mainHeap0 = process.memoryUsage().heapUsed;
  try {
    for (const [k, policy] of a.policies.entries()) {
      const session = await ChaosSession.start({
        replicas: a.replicas,
        policy,
        seed: a.seed + k,
        faults: f.faults,
        partitionEvery_ms: f.partitionEvery_ms,
        pauseEvery_ms: f.pauseEvery_ms,
        pause_ms: f.pause_ms,
        crashEvery_ms: f.crashEvery_ms,
        crashAllEvery_ms: f.crashAllEvery_ms,
        storage: dir === null ? 'memory' : { dir: join(dir, policy), fsync: a.fsync },
        clients: a.clients,
        keys: a.keys,
        timeout_ms: 1000,
        ...(a.reads === null ? {} : { reads: usableReads(a.reads, policy) }),
        linearizability: a.lin,
        ...(tuningOf(a) === undefined ? {} : { tuning: tuningOf(a) }),
        ...(a.snapshotEvery === null ? {} : { snapshotEvery: a.snapshotEvery }),
      });
      const mem = { policy, start_mib: (await session.heaps()).map(mib), end_mib: [] as string[] };
      memory.push(mem);
      try {
        const end = performance.now() + share_ms;
        for (let left = share_ms; left > 250; left = end - performance.now()) {
          const r: RoundReport = await session.runRound(Math.min(a.round_ms, left));
          countRound(totals, policy, r);
          for (const v of r.violations) if (firstViolations.length < 10) firstViolations.push(`${policy} round ${totals.rounds}: ${v.check}: ${v.detail}`);
        }
        mem.end_mib = (await session.heaps()).map(mib);
        if (a.snapshotEvery !== null && a.snapshotEvery > 0) {
          const n = await session.snapshotCounts();
          console.log(`  ${policy}: snapshots taken ${n.taken}, installed from a peer ${n.installed}, log compactions ${n.compactions} (live replicas, since their last start)`);
        }
      } finally {
        await session.close();
      }
    }
  } finally {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
  const elapsed_s = (performance.now() - t0) / 1000;
  console.log(`\nsummary: ${elapsed_s.toFixed(0)} s, ${totals.rounds} rounds, operations checked ${totals.ops} (ok ${totals.ok}, unknown ${totals.unknown}), violations ${totals.violations}, core conflicts ${totals.core_conflicts}, rounds not fully checked ${totals.unchecked}`);
  console.log(`faults: partitions ${totals.partitions}, pauses ${totals.pauses}, crashes ${totals.crashes} (restarts ${totals.restarts}${totals.wholeCrashes + totals.wholeCrashesSkipped > 0 ? `; whole-cluster ${totals.wholeCrashes}, skipped ${totals.wholeCrashesSkipped}` : ''}), messages dropped ${totals.dropped}, duplicated ${totals.duplicated}, reordered ${totals.reordered}, delayed ${totals.delayed}`);
  for (const m of memory) console.log(`worker heap MiB ${m.policy.padEnd(11)} start [${m.start_mib.join(', ')}] end [${m.end_mib.join(', ')}]`);
  console.log(`main heap MiB start ${mib(mainHeap0)} end ${mib(process.memoryUsage().heapUsed)}; live workers ${liveWorkers()}`);
  for (const v of firstViolations) console.log(`VIOLATION ${v}`);
  const unchecked = uncheckedLine(totals.unchecked, a.allowUnknown);
  if (unchecked !== null) console.log(unchecked);
  if (a.json) console.log(JSON.stringify({ elapsed_s, ...totals, memory }));
  return totals.violations === 0 && totals.core_conflicts === 0 && (totals.unchecked === 0 || a.allowUnknown) ? 0 : 1;
}

process.exitCode = await main();
