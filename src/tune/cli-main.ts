/**
 * `npm run tune -- [options]`: searches the contention policies' parameters
 * in the simulator for a workload and network (the simulator's own flags),
 * by successive halving over a grid with common random numbers
 * (halving.ts, space.ts); prints the best setting, its paired difference to
 * the defaults and to the runner-up with 95% intervals, re-runs the winner
 * against the defaults on fresh seeds it was not tuned on, and writes
 * `results/<timestamp>/` with the landscape (landscape.svg), every
 * candidate's figures (candidates.csv) and the summary (tune.json).
 * Bad flags (and a budget too small to separate anything) exit 2 with a
 * one-line reason, before any work.
 *
 * Why successive halving and not a Bayesian optimiser: the space mixes
 * categorical choices (jitter, after_lost_slot) with delays on a log scale,
 * the objective is noisy, and common random numbers make a paired comparison
 * of two settings far sharper than any surrogate model's; halving uses that
 * pairing directly, is deterministic for a seed range, and needs no package
 * (npm has no maintained Bayesian optimiser for mixed spaces).
 */
import { rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseInteger } from '../base/units.js';
import { flagOf, isPolicyFlag } from '../cli/policy-flags.js';
import { isPolicyName, type PolicyName } from '../contention/registry.js';
import { newResultsDir, toCsv, writeArgs, type Row } from '../report/results.js';
import { meanCi95, pairedDifference, round3, type Interval } from '../report/stats.js';
import { checkSpec, PARAM_HELP, parseRunSpec, type RunSpec } from '../sim/flags.js';
import { runSeeds, THREADS_MAX, type Task } from '../sim/pool.js';
import { defaultThreads } from '../sim/sweep-run.js';
import { planHalving, rank, score, successiveHalving, type ArmResult, type HalvingPlan } from './halving.js';
import { landscapeSvg } from './landscape.js';
import { objectiveOf, type Objective } from './objective.js';
import { TUNABLE, candidateFlags, candidateLabel, candidatesOf, defaultsOf, specOf, type Candidate } from './space.js';

/** The tuner's workload and network unless the flags say otherwise: the classic duel at the study's latency. */
export const TUNE_DEFAULTS: ReadonlyMap<string, string> = new Map([
  ['replicas', '5'], ['proposers', '10'], ['workload', 'burst'], ['proposals', '1'], ['faults', 'calm'],
  // A setting that leaves a burst of 10 undecided for 10 s, or spends 100,000 events on it, has lost: cut it there.
  ['latency', 'normal:10ms,2ms'], ['liveness-ms', '10000'], ['max-events', '100000'],
]);
export const DEFAULT_BUDGET = 10_000;
export const DEFAULT_FRESH_SEEDS = 100;
/** Fresh seeds start this far above the tuning seeds: never one the search saw. */
const FRESH_OFFSET = 1_000_000;

const RUN_FLAGS = Object.keys(PARAM_HELP).filter((k) => k !== 'policy');

const HELP = `usage: npm run tune -- [options]
  --objective p99|mean|attempts|throughput   what to minimise (latency p99 or mean per run, ballots per value) or maximise (goodput); default p99
  --policies LIST          policies to tune, comma-separated (${TUNABLE.join(', ')}; default fixed,exponential)
  --budget N               simulator runs the search may spend (default ${DEFAULT_BUDGET}); refused when too small to separate the candidates
                           (then the defaults run on the search's last seeds, and the winner and the defaults on the fresh seeds)
  --fresh-seeds N          seeds the winner and the defaults re-run on after the search, none of them tuned on (default ${DEFAULT_FRESH_SEEDS})
  --seed N                 first tuning seed (default 1)
  --eta N                  keep the best 1/eta each round (default 3)
  --threads N              worker threads (default: the cores, ${defaultThreads()} here)
  --out DIR                results root (default results)
  --json                   print a JSON summary as the last line
the workload and network, as npm run sim takes them (defaults: ${[...TUNE_DEFAULTS].map(([k, v]) => `--${k} ${v}`).join(' ')}):
${RUN_FLAGS.map((k) => `  --${k} ${PARAM_HELP[k as keyof typeof PARAM_HELP][0]}`).join('\n')}
  --link A-B=MODEL         per-link latency (repeatable)`;

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

interface TunePlan {
  command: string;
  base: RunSpec;
  baseFlags: string;
  objective: Objective;
  policies: PolicyName[];
  candidates: Candidate[];
  halving: HalvingPlan;
  seed0: number;
  fresh: number;
  threads: number;
  outRoot: string;
  json: boolean;
}

const OPTIONS = {
  ...Object.fromEntries(RUN_FLAGS.map((k) => [k, { type: 'string' as const }])),
  link: { type: 'string', multiple: true }, objective: { type: 'string' }, policies: { type: 'string' }, budget: { type: 'string' },
  'fresh-seeds': { type: 'string' }, seed: { type: 'string' }, eta: { type: 'string' }, threads: { type: 'string' }, out: { type: 'string' },
  json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'error';
}

/** Checks every flag and sizes the search; a RangeError (one line) on the first problem. */
export function tunePlan(argv: string[]): TunePlan | 'help' {
  const policyFlag = argv.find((a) => a.startsWith('--') && (isPolicyFlag(a.slice(2)) || a === '--policy'));
  if (policyFlag !== undefined) throw new RangeError(`${policyFlag} is what the tuner searches; name policies with --policies`);
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values as typeof values;
  } catch (e) {
    throw new RangeError(firstLine(e));
  }
  if (values.help === true) return 'help';
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const params = new Map(TUNE_DEFAULTS);
  for (const k of RUN_FLAGS) if (str(k) !== undefined) params.set(k, str(k) as string);
  // A workload flag the chosen workload ignores is refused; so the tuner's own defaults step aside for the user's workload.
  if (str('workload') !== undefined && str('workload') !== 'burst' && str('proposals') === undefined) params.delete('proposals');
  const links = Array.isArray(values.link) ? values.link : [];
  const base = parseRunSpec(params, links, undefined, false);
  const seed0 = parseInteger('seed', str('seed') ?? '1', -0x80000000, 0x7fffffff - 2 * FRESH_OFFSET);
  checkSpec(base, seed0, 4);
  const policies = (str('policies') ?? 'fixed,exponential').split(',').map((p) => p.trim());
  for (const p of policies) {
    if (!isPolicyName(p)) throw new RangeError(`--policies: '${p}' is not a policy (tunable: ${TUNABLE.join(', ')})`);
    if (!TUNABLE.includes(p)) throw new RangeError(`--policies: ${p} has nothing to tune (tunable: ${TUNABLE.join(', ')})`);
  }
  if (new Set(policies).size !== policies.length) throw new RangeError('--policies names a policy twice');
  const names = policies as PolicyName[];
  const candidates = names.flatMap(candidatesOf);
  const budget = parseInteger('budget', str('budget') ?? String(DEFAULT_BUDGET), 1, 10_000_000);
  const eta = parseInteger('eta', str('eta') ?? '3', 2, 16);
  return {
    command: `npm run tune -- ${argv.join(' ')}`.trim(), base, baseFlags: [...params].map(([k, v]) => `--${k} ${v}`).join(' ') + links.map((l) => ` --link ${l}`).join(''),
    objective: objectiveOf(str('objective') ?? 'p99'), policies: names, candidates,
    halving: planHalving(candidates.length, budget, eta),
    seed0, fresh: parseInteger('fresh-seeds', str('fresh-seeds') ?? String(DEFAULT_FRESH_SEEDS), 2, 100_000),
    threads: parseInteger('threads', str('threads') ?? String(defaultThreads()), 1, THREADS_MAX),
    outRoot: str('out') ?? 'results', json: values.json === true,
  };
}

/** The objective of every (arm, seed) in [from, to) after seed0, run on the pool; NaN where the run did not finish. */
function evaluator(plan: TunePlan, seed0: number): (arms: readonly Candidate[], from: number, to: number) => Promise<number[][]> {
  return async (arms, from, to) => {
    const tasks: Task[] = [];
    for (const arm of arms) {
      const spec: RunSpec = { ...plan.base, policy: specOf(arm) };
      for (let s = from; s < to; s++) tasks.push({ spec, seed: seed0 + s });
    }
    const width = to - from;
    const out = arms.map(() => new Array<number>(width).fill(Number.NaN));
    await runSeeds(tasks, plan.threads, (i, o) => {
      const v = o.metrics[plan.objective.metric];
      (out[Math.floor(i / width)] as number[])[i % width] = o.livenessFailure === null && o.violations === 0 && Number.isFinite(v) ? v : Number.NaN;
    });
    return out;
  };
}

/** b - a over the seeds where both finished. */
function paired(a: readonly number[], b: readonly number[]): Interval & { excludesZero: boolean; failuresA: number; failuresB: number } {
  const keep = a.map((x, i) => Number.isFinite(x) && Number.isFinite(b[i] as number));
  const d = pairedDifference(a.filter((_, i) => keep[i]), b.filter((_, i) => keep[i]));
  return { ...d, failuresA: a.filter((x) => !Number.isFinite(x)).length, failuresB: b.filter((x) => !Number.isFinite(x)).length };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(round3(x)) : '-';
}

/** "-45.2 ± 3.1 ms over 162 seeds: better" from the winner's point of view. */
function verdict(d: ReturnType<typeof paired>, o: Objective, other: string): string {
  const better = o.higherIsBetter ? d.mean > 0 : d.mean < 0;
  const same = d.n > 0 && d.mean === 0 && d.ci95 === 0;
  const says = same ? `the same as ${other} on every seed (the two settings make the same runs here)` : !d.excludesZero ? `not separable from ${other} (the interval includes 0)` : better ? `better than ${other}` : `WORSE than ${other}`;
  const fails = d.failuresA + d.failuresB > 0 ? `; unfinished runs: ${d.failuresB} for the winner, ${d.failuresA} for ${other}` : '';
  return `${d.mean >= 0 ? '+' : ''}${fmt(d.mean)} ± ${fmt(d.ci95)} ${o.unit} over ${d.n} seeds: ${says}${fails}`;
}

function describe(a: ArmResult<Candidate>, upTo: number, o: Objective): string {
  const s = score(a.values, upTo);
  const ci = meanCi95(a.values.slice(0, upTo).filter(Number.isFinite));
  return `${o.name} ${fmt(s.mean)} ± ${fmt(ci.ci95)} ${o.unit} over ${upTo - s.failures} seeds${s.failures > 0 ? ` (${s.failures} unfinished)` : ''}`;
}

function candidateRows(arms: ReadonlyArray<ArmResult<Candidate>>, o: Objective): Row[] {
  return arms.map((a) => {
    const finite = a.values.filter(Number.isFinite);
    const ci = meanCi95(finite);
    return {
      policy: a.arm.policy, ...Object.fromEntries(Object.entries(a.arm.params).map(([k, v]) => [k, v as string | number])),
      last_round: a.round + 1, seeds: a.values.length, unfinished: a.values.length - finite.length,
      [o.metric]: Number.isFinite(ci.mean) ? round3(ci.mean) : null, [`${o.metric}_ci95_lo`]: Number.isFinite(ci.lo) ? round3(ci.lo) : null,
      [`${o.metric}_ci95_hi`]: Number.isFinite(ci.hi) ? round3(ci.hi) : null,
    };
  });
}

/**
 * The runner-up: the best setting whose runs differ from the winner's, from
 * the last round any such setting reached (several grid points can be one
 * behaviour, e.g. a cap the delays never reach); and the winner's twins.
 */
export function runnerUpOf(arms: ReadonlyArray<ArmResult<Candidate>>, winner: ArmResult<Candidate>, higherIsBetter: boolean): { runnerUp: ArmResult<Candidate> | null; twins: Array<ArmResult<Candidate>> } {
  const twin = (a: ArmResult<Candidate>): boolean => a.values.every((v, i) => Object.is(v, winner.values[i]));
  const others = arms.filter((a) => a !== winner);
  const twins = others.filter(twin);
  const differing = others.filter((a) => !twin(a));
  const last = Math.max(-1, ...differing.map((a) => a.round));
  const reached = differing.filter((a) => a.round === last);
  const seeds = Math.min(...reached.map((a) => a.values.length));
  return { runnerUp: rank(reached, seeds, higherIsBetter)[0] ?? null, twins };
}

async function run(plan: TunePlan, io: Io): Promise<number> {
  const o = plan.objective;
  const h = plan.halving;
  const lastSeeds = (h.rounds.at(-1) as { seeds: number }).seeds;
  io.out(`tune: ${o.name} (${o.metric}, ${o.higherIsBetter ? 'higher' : 'lower'} is better) with ${plan.baseFlags}\n`);
  io.out(`  ${plan.candidates.length} candidates (${plan.policies.map((p) => `${p} ${plan.candidates.filter((c) => c.policy === p).length}`).join(', ')}); successive halving, eta ${h.eta}: ` +
    `${h.rounds.map((r) => `${r.arms} x ${r.seeds}`).join(', ')} seeds; ${h.cost} runs; seeds ${plan.seed0}..${plan.seed0 + lastSeeds - 1}\n`);
  const t0 = performance.now();
  let tRound = t0;
  const result = await successiveHalving(plan.candidates, h, evaluator(plan, plan.seed0), o.higherIsBetter, (k, ranked, seeds) => {
    const top = ranked[0];
    const now = performance.now();
    io.out(`  round ${k + 1}/${h.rounds.length} (${round3((now - tRound) / 1000)} s): ${ranked.length} on ${seeds} seeds; best ${top === undefined ? '-' : `${candidateLabel(top.arm)}: ${describe(top, seeds, o)}`}\n`);
    tRound = now;
  });
  const winner = result.ranking[0];
  if (winner === undefined) throw new Error('the search ended with no candidate');
  const { runnerUp, twins } = runnerUpOf(result.arms, winner, o.higherIsBetter);
  // The defaults of the winner's policy, on the seeds the winner ran (common random numbers).
  const dfltArm = defaultsOf(winner.arm.policy);
  const [dfltValues] = await evaluator(plan, plan.seed0)([dfltArm], 0, lastSeeds);
  const dflt: ArmResult<Candidate> = { arm: dfltArm, values: dfltValues ?? [], round: h.rounds.length - 1 };
  const vsDefaults = paired(dflt.values, winner.values);
  const vsRunnerUp = runnerUp === null ? null : paired(runnerUp.values, winner.values.slice(0, runnerUp.values.length));
  const freshSeed0 = plan.seed0 + FRESH_OFFSET;
  const [freshDefaults, freshWinner] = await evaluator(plan, freshSeed0)([dflt.arm, winner.arm], 0, plan.fresh);
  const vsFresh = paired(freshDefaults ?? [], freshWinner ?? []);
  const stillWins = vsFresh.excludesZero && (o.higherIsBetter ? vsFresh.mean > 0 : vsFresh.mean < 0);
  const elapsed_s = (performance.now() - t0) / 1000;

  const dir = newResultsDir(plan.outRoot);
  rmdirSync(join(dir, 'runs')); // the bench's per-run folder: the tuner keeps candidates.csv instead
  writeArgs(dir, {
    tool: 'tune', command: plan.command, config_columns: ['policy', ...new Set(plan.candidates.flatMap((c) => Object.keys(c.params)))], metric_columns: [o.metric],
    center: 'mean', sample_column: null, objective: o.name, seed_first: plan.seed0, halving: h, fresh_seed_first: freshSeed0, fresh_seeds: plan.fresh,
  });
  writeFileSync(join(dir, 'candidates.csv'), toCsv(candidateRows([...result.ranking, ...result.arms.filter((a) => !result.ranking.includes(a))], o)));
  const firstSeeds = (h.rounds[0] as { seeds: number }).seeds;
  writeFileSync(join(dir, 'landscape.svg'), landscapeSvg(result.arms, firstSeeds, o.metric, o.higherIsBetter));
  const reproduce = `npm run sim -- ${plan.baseFlags} ${candidateFlags(winner.arm, flagOf)} --seed ${freshSeed0} --seeds ${plan.fresh}`;
  const summary = {
    objective: o.name, metric: o.metric, winner: candidateLabel(winner.arm), winner_params: winner.arm.params, runner_up: runnerUp === null ? null : candidateLabel(runnerUp.arm), same_runs_as_winner: twins.map((t) => candidateLabel(t.arm)),
    defaults: candidateLabel(dflt.arm), tuned_seeds: lastSeeds, vs_defaults: vsDefaults, vs_runner_up: vsRunnerUp, fresh_seeds: plan.fresh,
    vs_defaults_fresh: vsFresh, still_wins: stillWins, runs: h.cost + lastSeeds + 2 * plan.fresh, elapsed_s: round3(elapsed_s), dir, reproduce,
  };
  writeFileSync(join(dir, 'tune.json'), JSON.stringify(summary, null, 2));
  io.out(`best: ${candidateLabel(winner.arm)}: ${describe(winner, lastSeeds, o)}\n`);
  io.out(`  vs the defaults (${candidateLabel(dflt.arm)}), paired: ${verdict(vsDefaults, o, 'the defaults')}\n`);
  if (twins.length > 0) io.out(`  ${twins.length} other setting${twins.length === 1 ? '' : 's'} made the very same runs on every seed they ran (e.g. ${candidateLabel((twins[0] as ArmResult<Candidate>).arm)}): one behaviour, several spellings\n`);
  io.out(runnerUp === null || vsRunnerUp === null
    ? '  no runner-up: every other setting made the same runs\n'
    : `  vs the runner-up (${candidateLabel(runnerUp.arm)}, the best setting that behaves differently), paired: ${verdict(vsRunnerUp, o, 'the runner-up')}\n`);
  io.out(`fresh seeds ${freshSeed0}..${freshSeed0 + plan.fresh - 1} (not tuned on), winner vs defaults: ${verdict(vsFresh, o, 'the defaults')}: ${stillWins ? 'it still wins' : 'it does NOT win on fresh seeds'}\n`);
  io.out(`  replay: ${reproduce}\n`);
  io.out(`${h.cost + lastSeeds + 2 * plan.fresh} runs (the search ${h.cost}, the defaults on its last seeds ${lastSeeds}, fresh seeds ${2 * plan.fresh}) in ${round3(elapsed_s)} s on ${plan.threads} threads; landscape ${join(dir, 'landscape.svg')}, every candidate in ${join(dir, 'candidates.csv')}\n`);
  if (plan.json) io.out(`${JSON.stringify(summary)}\n`);
  return 0;
}

/** Runs the command line; returns the exit code (0, or 2 for bad flags). */
export async function runTuneCli(argv: string[], io: Io): Promise<number> {
  let plan: TunePlan | 'help';
  try {
    plan = tunePlan(argv);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    io.err(`tune: ${e.message}\n`);
    return 2;
  }
  if (plan === 'help') {
    io.out(`${HELP}\n`);
    return 0;
  }
  return run(plan, io);
}
