/**
 * `npm run calibrate -- [--replicas 3] [--proposers 3] [--duration 2s] [--seeds 10] [--json]`:
 * the simulator held against the worker runtime on the same workload
 * (closed loop, one proposal in flight per proposer, 100% conflict, every
 * policy with the registry's defaults).
 *
 * 1. Measure the runtime here (bench/limit.ts): the MessageChannel round
 *    trip between workers, and a real run of `leader` with one proposer,
 *    whose CPU per decision over its messages per decision is the cost of
 *    handling one message in the full runtime.
 * 2. Fit the simulator's network to them: one-way latency normal(rtt/2,
 *    spread from the round trip's p50-p99), and that per-message cost as
 *    each node's processing time (messages queue behind it).
 * 3. Run every policy both ways and print, side by side, attempts per
 *    proposal, latency p50 and p99, throughput and the throughput of each
 *    policy relative to the best, the two orderings by throughput, and where
 *    the two disagree most.
 *
 * Bad flags exit 2 with one line, before any work.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs as parseNodeArgs } from 'node:util';
import { POLICY_NAMES, type PolicyName } from '../src/contention/registry.js';
import { formatDuration, parseDuration_ms, parseInteger } from '../src/base/units.js';
import { newResultsDir } from '../src/report/results.js';
import { median, round3 } from '../src/report/stats.js';
import { parseRunSpec } from '../src/sim/flags.js';
import { summarize as summarizeSeeds } from '../src/sim/outcome.js';
import { runSeed } from '../src/sim/run-seed.js';
import { measureLimit, type Limit } from './limit.js';
import { OptionError, parseArgs as parseBenchArgs } from './options.js';
import { runOnce } from './run.js';
import { summarize } from './summary.js';

export interface CalibrateOptions {
  replicas: number;
  proposers: number;
  duration_ms: number;
  warmup_ms: number;
  /** Real runs per policy, interleaved across policies; each figure is their median. */
  repeat: number;
  /** Simulated seeds per policy. */
  seeds: number;
  /** Virtual time each simulated run proposes for. */
  simDuration_ms: number;
  policies: PolicyName[];
  out: string;
  json: boolean;
}

/** The figures compared, one set per policy and side. */
export interface Figures {
  attempts_per_proposal: number;
  latency_us_p50: number;
  latency_us_p99: number;
  decisions_per_s: number;
}

export interface Fit {
  rtt_us: number;
  rtt_us_p99: number;
  /** One-way latency model given to the simulator, as `--latency` writes it. */
  latency: string;
  /** Per-message handling time at each node. */
  processing_us: number;
}

const USAGE = 'usage: npm run calibrate -- [--replicas N] [--proposers N] [--duration D] [--warmup D] [--repeat N] [--seeds N] [--sim-duration D] [--policies a,b] [--out DIR] [--json]';

export function parseCalibrate(argv: string[]): CalibrateOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseNodeArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        replicas: { type: 'string' }, proposers: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' }, seeds: { type: 'string' }, repeat: { type: 'string' },
        'sim-duration': { type: 'string' }, policies: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' },
      },
    }).values as typeof values;
  } catch (e) {
    throw new RangeError((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? USAGE);
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const replicas = parseInteger('replicas', str('replicas') ?? '3', 1, 9);
  const proposers = parseInteger('proposers', str('proposers') ?? '3', 1, replicas);
  const policies = (str('policies') ?? POLICY_NAMES.join(',')).split(',').map((p) => p.trim());
  for (const p of policies) if (!(POLICY_NAMES as readonly string[]).includes(p)) throw new RangeError(`--policies: '${p}' is not a policy (${POLICY_NAMES.join(', ')})`);
  if (policies.length < 2) throw new RangeError('--policies needs at least two policies to order');
  return {
    replicas, proposers, policies: policies as PolicyName[],
    duration_ms: parseDuration_ms('duration', str('duration') ?? '2s', { min_ms: 200, max_ms: 600_000 }),
    warmup_ms: parseDuration_ms('warmup', str('warmup') ?? '500ms', { max_ms: 60_000 }),
    repeat: parseInteger('repeat', str('repeat') ?? '3', 1, 20),
    seeds: parseInteger('seeds', str('seeds') ?? '4', 2, 1000),
    // Long enough that the start (an election, for leader and lease) weighs little: the real runs warm up first.
    simDuration_ms: parseDuration_ms('sim-duration', str('sim-duration') ?? '500ms', { min_ms: 10, max_ms: 10_000 }),
    out: str('out') ?? 'results', json: values.json === true,
  };
}

/** One real run of the worker runtime through the bench (closed loop, 100% conflict). */
async function real(o: CalibrateOptions, policy: PolicyName, proposers: number, limit: Limit): Promise<ReturnType<typeof summarize>> {
  const args = parseBenchArgs([
    '--policy', policy, '--replicas', String(o.replicas), '--proposers', String(proposers), '--workload', 'closed', '--outstanding', '1',
    '--conflict', '100', '--duration', formatDuration(o.duration_ms), '--warmup', formatDuration(o.warmup_ms),
  ]);
  const opts = args.runs[0];
  if (opts === undefined) throw new Error('no run');
  const scratch = mkdtempSync(join(tmpdir(), 'synod-calibrate-'));
  try {
    return summarize(await runOnce(opts, 'threads', { scratch, decisions: null }), policy, 0, limit, null);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function figuresOf(m: Record<string, number | null>): Figures {
  const n = (k: string): number => m[k] ?? Number.NaN;
  return { attempts_per_proposal: n('attempts_per_proposal'), latency_us_p50: n('latency_us_p50'), latency_us_p99: n('latency_us_p99'), decisions_per_s: n('decisions_per_s') };
}

/** The simulator's figures for a policy under the fitted network, averaged over the seeds. */
export function simulated(o: CalibrateOptions, policy: PolicyName, fit: Fit): Figures & { unfinished: number } {
  const spec = parseRunSpec(new Map([
    ['replicas', String(o.replicas)], ['proposers', String(o.proposers)], ['workload', 'closed'], ['outstanding', '1'], ['proposals', '100000'],
    ['duration', formatDuration(o.simDuration_ms)], ['conflict', '100'], ['faults', 'calm'], ['latency', fit.latency],
    ['processing', `${round3(fit.processing_us)}us`], ['attempt-timeout', '50ms'], ['liveness-ms', '2000'], ['max-events', '3000000'], ['policy', policy],
  ]), [], undefined, false);
  const outcomes = Array.from({ length: o.seeds }, (_, i) => runSeed(spec, i + 1).outcome);
  const s = summarizeSeeds(outcomes);
  return {
    attempts_per_proposal: s.metrics.attempts_per_proposal.mean,
    latency_us_p50: s.metrics.latency_ms_p50.mean * 1000, latency_us_p99: s.metrics.latency_ms_p99.mean * 1000,
    // Committed values per virtual second of the closed loop (until the last commit).
    decisions_per_s: s.metrics.goodput_per_s.mean,
    unfinished: s.livenessFailures,
  };
}

export function fitNetwork(limit: Limit, leader: Figures & { cpu_us_per_decision: number; messages_per_decision: number }): Fit {
  const oneWay_us = limit.rtt_us / 2;
  // The round trip's spread, one way: p99 - p50 over two legs, as 2.33 standard deviations.
  const sd_us = Math.max(0, (limit.rtt_us_p99 - limit.rtt_us) / 2 / 2.33);
  const processing_us = leader.messages_per_decision > 0 ? leader.cpu_us_per_decision / leader.messages_per_decision : 0;
  return { rtt_us: limit.rtt_us, rtt_us_p99: limit.rtt_us_p99, latency: `normal:${round3(oneWay_us)}us,${round3(sd_us)}us`, processing_us };
}

function medianFigures(xs: readonly Figures[]): Figures {
  const m = (k: keyof Figures): number => median(xs.map((x) => x[k]).filter(Number.isFinite));
  return { attempts_per_proposal: m('attempts_per_proposal'), latency_us_p50: m('latency_us_p50'), latency_us_p99: m('latency_us_p99'), decisions_per_s: m('decisions_per_s') };
}

const order = (xs: ReadonlyArray<{ policy: string; f: Figures }>): string[] => [...xs].sort((a, b) => b.f.decisions_per_s - a.f.decisions_per_s).map((x) => x.policy);

function table(rows: ReadonlyArray<{ policy: string; real: Figures; sim: Figures & { unfinished: number } }>, seeds: number): string[] {
  const bestReal = Math.max(...rows.map((r) => r.real.decisions_per_s));
  const bestSim = Math.max(...rows.map((r) => r.sim.decisions_per_s));
  const f = (x: number, w = 9): string => (Number.isFinite(x) ? String(round3(x)) : '-').padStart(w);
  const lines = [
    `${'policy'.padEnd(12)} ${'attempts/proposal'.padStart(19)} ${'latency p50 us'.padStart(19)} ${'latency p99 us'.padStart(19)} ${'decisions/s'.padStart(19)} ${'vs best'.padStart(13)}`,
    `${''.padEnd(12)} ${'real'.padStart(9)} ${'sim'.padStart(9)} ${'real'.padStart(9)} ${'sim'.padStart(9)} ${'real'.padStart(9)} ${'sim'.padStart(9)} ${'real'.padStart(9)} ${'sim'.padStart(9)} ${'real'.padStart(6)} ${'sim'.padStart(6)}`,
  ];
  for (const r of rows) {
    lines.push(
      `${r.policy.padEnd(12)} ${f(r.real.attempts_per_proposal)} ${f(r.sim.attempts_per_proposal)} ${f(r.real.latency_us_p50)} ${f(r.sim.latency_us_p50)} ` +
        `${f(r.real.latency_us_p99)} ${f(r.sim.latency_us_p99)} ${f(r.real.decisions_per_s)} ${f(r.sim.decisions_per_s)} ` +
        `${f(r.real.decisions_per_s / bestReal, 6)} ${f(r.sim.decisions_per_s / bestSim, 6)}${r.sim.unfinished > 0 ? `  (${r.sim.unfinished}/${seeds} simulated runs unfinished)` : ''}`,
    );
  }
  return lines;
}

/** The largest disagreements, as ratios sim/real, worst first. */
function divergences(rows: ReadonlyArray<{ policy: string; real: Figures; sim: Figures }>): string[] {
  const out: Array<{ what: string; ratio: number }> = [];
  for (const r of rows) {
    for (const k of ['attempts_per_proposal', 'latency_us_p50', 'latency_us_p99', 'decisions_per_s'] as const) {
      const ratio = r.sim[k] / r.real[k];
      if (Number.isFinite(ratio) && ratio > 0) out.push({ what: `${r.policy} ${k}: sim ${round3(r.sim[k])} vs real ${round3(r.real[k])} (x${round3(ratio)})`, ratio });
    }
  }
  return out.sort((a, b) => Math.abs(Math.log(b.ratio)) - Math.abs(Math.log(a.ratio))).slice(0, 5).map((x) => x.what);
}

export async function calibrate(o: CalibrateOptions, say: (line: string) => void): Promise<Record<string, unknown>> {
  say(`measuring the runtime here (${o.replicas} workers)...`);
  const limit = await measureLimit({ replicas: Math.max(2, o.replicas), windows: [1], duration_ms: 300 });
  const probe = await real(o, 'leader', 1, limit);
  const fit = fitNetwork(limit, { ...figuresOf(probe.metrics), cpu_us_per_decision: probe.metrics.cpu_us_per_decision ?? 0, messages_per_decision: probe.metrics.messages_per_decision ?? 0 });
  say(`fitted: round trip ${round3(fit.rtt_us)} us (p99 ${round3(fit.rtt_us_p99)}), one-way latency ${fit.latency}, processing ${round3(fit.processing_us)} us per message`);
  // Real runs interleaved (ABCDE ABCDE ...), so a slow spell of the machine does not fall on one policy.
  const runs = new Map<PolicyName, Figures[]>(o.policies.map((p) => [p, []]));
  for (let k = 0; k < o.repeat; k++) {
    for (const policy of o.policies) {
      say(`${policy}: worker runtime, run ${k + 1}/${o.repeat} (${formatDuration(o.duration_ms)})...`);
      runs.get(policy)?.push(figuresOf((await real(o, policy, o.proposers, limit)).metrics));
    }
  }
  const rows: Array<{ policy: string; real: Figures; sim: Figures & { unfinished: number } }> = [];
  for (const policy of o.policies) {
    say(`${policy}: the simulator (${o.seeds} seeds of ${formatDuration(o.simDuration_ms)} virtual)...`);
    rows.push({ policy, real: medianFigures(runs.get(policy) ?? []), sim: simulated(o, policy, fit) });
  }
  const realOrder = order(rows.map((r) => ({ policy: r.policy, f: r.real })));
  const simOrder = order(rows.map((r) => ({ policy: r.policy, f: r.sim })));
  return { replicas: o.replicas, proposers: o.proposers, duration_ms: o.duration_ms, repeat: o.repeat, seeds: o.seeds, sim_duration_ms: o.simDuration_ms, fit, runs: Object.fromEntries(runs), rows, real_order: realOrder, sim_order: simOrder, same_order: realOrder.join() === simOrder.join(), divergences: divergences(rows), table: table(rows, o.seeds) };
}

async function main(argv: string[]): Promise<number> {
  let o: CalibrateOptions;
  try {
    o = parseCalibrate(argv);
  } catch (e) {
    if (!(e instanceof RangeError || e instanceof OptionError)) throw e;
    process.stderr.write(`synod calibrate: ${e.message}\n`);
    return 2;
  }
  const result = await calibrate(o, (line) => process.stderr.write(`synod calibrate: ${line}\n`));
  const dir = newResultsDir(o.out);
  writeFileSync(join(dir, 'calibrate.json'), JSON.stringify({ command: `npm run calibrate -- ${argv.join(' ')}`.trim(), ...result }, null, 2));
  const lines = [
    `${o.replicas} replicas, ${o.proposers} proposers, closed loop, 100% conflict; real: the median of ${o.repeat} runs of ${formatDuration(o.duration_ms)} per policy on worker threads; sim: ${o.seeds} seeds of ${formatDuration(o.simDuration_ms)} virtual`,
    ...(result.table as string[]),
    `by throughput, real: ${(result.real_order as string[]).join(' > ')}`,
    `by throughput, sim:  ${(result.sim_order as string[]).join(' > ')}  (${result.same_order === true ? 'the same order' : 'a DIFFERENT order'})`,
    `real decisions/s, run by run: ${[...Object.entries(result.runs as Record<string, Figures[]>)].map(([p, fs]) => `${p} ${fs.map((f) => Math.round(f.decisions_per_s)).join('/')}`).join('; ')}`,
    'largest disagreements:',
    ...(result.divergences as string[]).map((d) => `  ${d}`),
    `results in ${join(dir, 'calibrate.json')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

if (process.argv[1] !== undefined && /calibrate\.(js|ts)$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`synod calibrate: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'error'}\n`);
      process.exitCode = 1;
    },
  );
}
