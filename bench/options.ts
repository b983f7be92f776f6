/**
 * Command-line options of `npm run bench`: one table of specs (name, default,
 * parser), so every option has a default and a one-line error, and `--sweep`
 * can vary any of them with the very same parsers.
 */
import { AFTER_LOST_SLOT, DEFAULT_PARAMS, POLICIES, POLICY_NAMES, policySpec, type PolicyName, type PolicyParams, type PolicySpec } from '../src/contention/registry.js';
import type { AfterLostSlot } from '../src/paxos/policy.js';
import type { WorkloadConfig } from '../src/runtime/workload.js';
import { JITTERS, type Jitter } from '../src/contention/backoff.js';
import { MAX_NODES } from '../src/paxos/ballot.js';
import type { FaultSpec } from '../src/runtime/fault-transport.js';
import { parseDelayRange_ms } from '../src/chaos/flags.js';
import { parseDuration_ms, parseInteger, parseMs, parseNumber, parseProbability } from '../src/base/units.js';
import type { Cell, Row } from '../src/report/results.js';
import { MIN_RUNS_FOR_VERDICT } from '../src/report/stats.js';
import type { NemesisOptions } from '../src/chaos/nemesis.js';

/**
 * Both run synod's public Cluster API (src/cluster over src/runtime): threads is
 * one worker per replica, inline all replicas on the main thread. The former
 * names `cluster` and `cluster-inline` are accepted as aliases.
 */
export type Runtime = 'threads' | 'inline';
const RUNTIME_ALIASES: Record<string, Runtime> = { threads: 'threads', inline: 'inline', cluster: 'threads', 'cluster-inline': 'inline' };

/** The workload knobs a run passes through to every replica's load generator (src/runtime/workload.ts). */
type WorkloadKnobs = Pick<
  WorkloadConfig,
  'proposers' | 'outstanding' | 'workload' | 'rate_per_s' | 'conflict_pct' | 'value_bytes' | 'apply_cost_us' | 'livelock_threshold_ms' | 'seed'
> & Required<Pick<WorkloadConfig, 'reads_pct' | 'read_consistency'>>;

/** One run's settings, validated. */
export interface RunOptions extends WorkloadKnobs {
  replicas: number;
  storage: 'memory' | 'file';
  fsync: 'always' | 'batch';
  policy: PolicySpec;
  duration_ms: number;
  warmup_ms: number;
  runtime: Runtime;
  /** Commands per slot a stable leader packs (1: none), and how long a partial batch may wait. */
  batch_max: number;
  batch_delay_us: number;
  /** Each replica worker's young generation in MiB (0: V8's default); threads only. */
  young_gen_mb: number;
  /** Chaos mode (src/chaos): link faults and the nemesis schedule; null when no fault flag is set. */
  faults: { spec: FaultSpec; nemesis: NemesisOptions } | null;
  /** Every option as its results.csv column (RUN_OPTIONS' `column`); null where the run ignores it. */
  config: Row;
}

/** Options that apply to the whole invocation, not to one run. */
export interface GlobalOptions {
  out: string;
  json: boolean;
  decisions: string | null;
  /** Draw a short real run's ballot timeline into this SVG instead of benchmarking (bench/timeline.ts). */
  timeline: string | null;
  compare_inline: boolean;
  sweep: Array<{ key: string; values: string[] }>;
  /** Runs per configuration, interleaved across configurations (ABAB). */
  repeat: number;
  /** No progress lines on stderr. */
  quiet: boolean;
  help: boolean;
}

export class OptionError extends Error {}

type Value = string | number | readonly [number, number];
type Parser = (raw: string, name: string) => Value;

/** The shared parsers (src/base/units.ts) with their one-line errors as OptionError. */
const units = <T extends Value>(f: (name: string, raw: string) => T): ((raw: string, name: string) => T) => (raw, name) => {
  try {
    return f(name, raw);
  } catch (e) {
    throw new OptionError(e instanceof Error ? e.message : String(e));
  }
};
const int = (min: number, max: number): Parser => units((name, raw) => parseInteger(name, raw, min, max));
const num = (min: number, max = Number.POSITIVE_INFINITY): Parser => units((name, raw) => parseNumber(name, raw, min, max));
/** A flag whose name carries its unit (--base-ms 5, or 5ms). */
const ms = (min: number): Parser => units((name, raw) => parseMs(name, raw, min));
const oneOf = (choices: readonly string[]): Parser => (raw, name) => {
  if (!choices.includes(raw)) throw new OptionError(`--${name} must be one of ${choices.join('|')}, got '${raw}'`);
  return raw;
};
/** A duration with its unit ("10s", "500ms", "1m"; a bare number refused), to ms. */
const duration = (min_ms: number): Parser => units((name, raw) => parseDuration_ms(name, raw, { min_ms, max_ms: 3_600_000 }));
/** "5%" or "0.05", to percent. */
const pct: Parser = units((name, raw) => parseProbability(name, raw) * 100);
/** "5000" or "5000/s". */
const rate: Parser = (raw, name) => num(1, 10_000_000)(raw.replace(/\/s$/, ''), name);

/** Raw values of one run, parsed: what `applies` and the columns see. */
type Parsed = Readonly<Record<string, Value>>;

interface Spec {
  default: string;
  parse: Parser;
  help: string;
  /** The results.csv column(s): snake_case, units last, the simulator's names where it has the option. */
  column: string | readonly [string, string];
  /** A policy parameter: refused when set or swept with a policy that does not read it. */
  param?: keyof PolicyParams;
  /** Why the option does nothing in this run (then it is refused when set, and its column left empty); null: it applies. */
  inert?: (v: Parsed) => string | null;
}

const flagOf = (param: keyof PolicyParams): string => param.replace(/_/g, '-');
const policyReads = (param: keyof PolicyParams) => (v: Parsed): string | null => {
  const name = v.policy as PolicyName;
  const reads: ReadonlyArray<keyof PolicyParams> = POLICIES[name].reads;
  return reads.includes(param) ? null : `${name} ignores it (${name} reads ${reads.map((k) => `--${flagOf(k)}`).join(', ')})`;
};
const param = (key: keyof PolicyParams, parse: Parser, help: string): Spec => ({
  default: String(DEFAULT_PARAMS[key]), parse, help, column: key, param: key, inert: policyReads(key),
});

/** Every run option; keys are the command-line names without dashes. */
export const RUN_OPTIONS = {
  replicas: { default: '3', parse: int(1, Math.min(MAX_NODES, 64)), help: 'replicas (one worker each)', column: 'replicas' },
  storage: { default: 'memory', parse: oneOf(['memory', 'file']), help: 'acceptor storage', column: 'storage' },
  fsync: {
    default: 'batch', parse: oneOf(['always', 'batch']), help: 'file storage: fsync every record or once per turn', column: 'fsync',
    inert: (v) => (v.storage === 'file' ? null : 'only --storage file syncs'),
  },
  proposers: { default: '3', parse: int(1, 64), help: 'replicas that propose at once (ids 0..n-1)', column: 'proposers' },
  outstanding: { default: '1', parse: int(1, 4096), help: 'proposals each proposer keeps in flight (closed loop)', column: 'outstanding' },
  workload: { default: 'closed', parse: oneOf(['closed', 'open']), help: 'closed loop or open loop at --rate', column: 'workload' },
  rate: {
    default: '1000', parse: rate, help: 'open loop: proposals per second over all proposers', column: 'rate_per_s',
    inert: (v) => (v.workload === 'open' ? null : 'only --workload open has a rate'),
  },
  conflict: { default: '100', parse: num(0, 100), help: 'percent of proposals that race for the same slot', column: 'conflict_pct' },
  'value-bytes': { default: '16', parse: int(8, 1 << 20), help: 'bytes per proposed value', column: 'value_bytes' },
  policy: { default: 'leader', parse: oneOf(POLICY_NAMES), help: `contention policy: ${POLICY_NAMES.join('|')}`, column: 'policy' },
  'delay-ms': param('delay_ms', ms(0), 'fixed: delay before a retry'),
  'base-ms': param('base_ms', ms(0), 'exponential: first delay ceiling (leader, lease: phase-1 retries)'),
  'cap-ms': param('cap_ms', ms(0), 'exponential: delay cap (leader, lease: phase-1 retries)'),
  multiplier: param('multiplier', num(1), 'exponential: growth per failure'),
  jitter: param('jitter', oneOf(JITTERS), `exponential: jitter, ${JITTERS.join('|')}`),
  'heartbeat-ms': param('heartbeat_ms', ms(0.001), 'leader, lease: heartbeat period'),
  'election-timeout-ms': param('election_timeout_ms', ms(0.001), 'leader, lease: silence before suspicion'),
  'lease-ms': param('lease_ms', ms(0.001), 'lease: grant length'),
  'drift-ms': param('drift_ms', ms(0), 'lease: clock drift bound'),
  window: param('window', int(1, 65_536), 'slots in flight per proposer (leader: phase-2 window)'),
  'batch-max': {
    default: '1', parse: int(1, 65_536), help: 'leader, lease: client commands packed into one slot (1: no batching)', column: 'batch_max',
    inert: (v) => (v.policy === 'leader' || v.policy === 'lease' ? null : 'only a stable leader (leader, lease) batches'),
  },
  'batch-delay-us': {
    default: '0', parse: num(0, 10_000_000), help: 'leader, lease: how long a partial batch may wait to fill', column: 'batch_delay_us',
    inert: (v) => ((v['batch-max'] as number) > 1 ? null : 'only --batch-max above 1 batches'),
  },
  'after-lost-slot': param('after_lost_slot', oneOf(AFTER_LOST_SLOT), 'fixed, exponential: after another value wins the slot, try the next slot now or back off first'),
  duration: { default: '10s', parse: duration(100), help: 'measured time per run', column: 'duration_ms' },
  warmup: { default: '2s', parse: duration(0), help: 'time before measuring', column: 'warmup_ms' },
  seed: { default: '1', parse: int(0, 2 ** 31 - 1), help: 'random seed', column: 'seed' },
  runtime: {
    default: 'threads', parse: oneOf(['threads', 'inline', 'cluster', 'cluster-inline']), column: 'runtime',
    help: 'threads: a worker per replica; inline: all on the main thread (cluster, cluster-inline: aliases)',
  },
  reads: {
    default: '0', parse: pct, column: 'reads_pct',
    help: 'percent of the closed loop\'s operations that read a state machine in the replica (the bench runs a register machine then), e.g. 20%',
    inert: (v) => (v.workload === 'closed' ? null : 'only --workload closed mixes reads in'),
  },
  'read-consistency': {
    default: 'linearizable', parse: oneOf(['linearizable', 'lease', 'stale']), column: 'read_consistency',
    help: 'reads: linearizable (read index, or the log for per-slot policies) | lease (policy lease) | stale',
    inert: (v) => ((v.reads as number) > 0 ? null : 'only --reads above 0 reads'),
  },
  'apply-cost-us': { default: '0', parse: num(0, 1_000_000), help: 'simulated state-machine cost per decision per replica', column: 'apply_cost_us' },
  'young-gen-mb': {
    default: '0', parse: int(0, 4096), column: 'young_gen_mb',
    help: "each replica worker's young generation in MiB, 8..4096 (0: V8's default); larger scavenges less often: a shorter latency tail for memory",
    inert: (v) => (RUNTIME_ALIASES[v.runtime as string] === 'inline' ? 'inline replicas run on this thread' : null),
  },
  'livelock-ms': {
    default: '100', parse: ms(1), column: 'livelock_threshold_ms',
    help: 'a gap without decisions (with proposals pending) longer than this is a livelock episode',
  },
  drop: { default: '0', parse: pct, help: 'chaos: chance a message is lost, e.g. 5%', column: 'drop_pct' },
  delay: {
    default: '0', parse: units(parseDelayRange_ms), help: 'chaos: per-message delay range, e.g. 0-2ms',
    column: ['fault_delay_ms_min', 'fault_delay_ms_max'],
  },
  dup: { default: '0', parse: pct, help: 'chaos: chance a message is delivered twice, e.g. 1%', column: 'dup_pct' },
  reorder: { default: '0', parse: pct, help: 'chaos: chance a message is overtaken by later ones', column: 'reorder_pct' },
  'partition-every': { default: '0', parse: duration(0), help: 'chaos: cut a random minority off every T (healed after T/2); 0: never', column: 'partition_every_ms' },
  'pause-every': { default: '0', parse: duration(0), help: 'chaos: stall a random replica for --pause every T; 0: never', column: 'pause_every_ms' },
  pause: {
    default: '200ms', parse: duration(1), help: 'chaos: how long a pause stalls a replica', column: 'pause_ms',
    inert: (v) => (v['pause-every'] === 0 ? 'only --pause-every pauses' : null),
  },
} as const satisfies Record<string, Spec>;

export type RunKey = keyof typeof RUN_OPTIONS;
const RUN_KEYS = Object.keys(RUN_OPTIONS) as RunKey[];
const FLAGS = ['json', 'compare-inline', 'quiet', 'help'] as const;
const GLOBAL_VALUED = ['out', 'decisions', 'timeline', 'sweep', 'repeat'] as const;

function isRunKey(k: string): k is RunKey {
  return Object.hasOwn(RUN_OPTIONS, k);
}

/** The results.csv column(s) of one option (`--sweep` keys are option names). */
export function columnsOf(key: string): string[] {
  if (!isRunKey(key)) return [];
  const c = (RUN_OPTIONS[key] as Spec).column;
  return typeof c === 'string' ? [c] : [...c];
}

/** Every results.csv column the run options give, in table order (a test holds the CSV to it). */
export function optionColumns(): string[] {
  return RUN_KEYS.flatMap(columnsOf);
}

export interface ParsedArgs {
  global: GlobalOptions;
  /** One validated option set per configuration (the sweep's cross product, or one). */
  runs: RunOptions[];
  /** The raw values of the keys a sweep varies, per configuration (for labels). */
  labels: string[];
}

/** Parses argv (without node and script). Throws OptionError with a one-line reason. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const raw = new Map<RunKey, string>();
  const global: GlobalOptions = { out: 'results', json: false, decisions: null, timeline: null, compare_inline: false, sweep: [], repeat: 1, quiet: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h') {
      global.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new OptionError(`unexpected argument '${arg}' (options start with --)`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if ((FLAGS as readonly string[]).includes(name)) {
      if (value !== undefined) throw new OptionError(`--${name} takes no value`);
      if (name === 'json') global.json = true;
      else if (name === 'compare-inline') global.compare_inline = true;
      else if (name === 'quiet') global.quiet = true;
      else global.help = true;
      continue;
    }
    if (!isRunKey(name) && !(GLOBAL_VALUED as readonly string[]).includes(name)) {
      throw new OptionError(`unknown option --${name} (see --help)`);
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new OptionError(`--${name} needs a value`);
    }
    setOption(global, raw, name, value);
  }
  if (global.help) return { global, runs: [], labels: [] };
  if (global.timeline !== null && (global.sweep.length > 0 || global.repeat > 1)) throw new OptionError('--timeline draws one short run: drop --sweep and --repeat');
  const combos = crossProduct(global.sweep);
  if (combos.length * global.repeat > 1000) throw new OptionError(`--sweep and --repeat give ${combos.length * global.repeat} runs (at most 1000)`);
  const runs: RunOptions[] = [];
  const labels: string[] = [];
  for (const combo of combos) {
    const values = new Map(raw);
    for (const [k, v] of combo) values.set(k, v);
    runs.push(toRunOptions(values, new Set([...raw.keys(), ...combo.map(([k]) => k)])));
    labels.push(combo.map(([k, v]) => `${k}=${v}`).join(' '));
  }
  return { global, runs, labels };
}

function setOption(global: GlobalOptions, raw: Map<RunKey, string>, name: string, value: string): void {
  if (name === 'out') {
    if (value === '') throw new OptionError('--out needs a directory');
    global.out = value;
  } else if (name === 'decisions') {
    if (value === '') throw new OptionError('--decisions needs a file name');
    global.decisions = value;
  } else if (name === 'timeline') {
    if (!value.endsWith('.svg')) throw new OptionError(`--timeline must name an .svg file, got '${value}'`);
    global.timeline = value;
  } else if (name === 'repeat') {
    global.repeat = int(1, 100)(value, 'repeat') as number;
  } else if (name === 'sweep') {
    const m = /^([a-z-]+)=(.+)$/.exec(value);
    const key = m?.[1] ?? '';
    if (m === null || !isRunKey(key)) throw new OptionError(`--sweep must be key=a,b,c with a run option as key, got '${value}'`);
    if (global.sweep.some((s) => s.key === key)) throw new OptionError(`--sweep ${key} given twice`);
    const values = (m[2] ?? '').split(',');
    if (values.some((v) => v === '')) throw new OptionError(`--sweep ${key}: empty value in '${m[2]}'`);
    if (raw.has(key)) throw new OptionError(`--${key} is both set and swept`);
    global.sweep.push({ key, values });
  } else if (isRunKey(name)) {
    if (global.sweep.some((s) => s.key === name)) throw new OptionError(`--${name} is both set and swept`);
    raw.set(name, value);
  }
}

function crossProduct(sweep: GlobalOptions['sweep']): Array<Array<[RunKey, string]>> {
  let out: Array<Array<[RunKey, string]>> = [[]];
  for (const { key, values } of sweep) {
    if (!isRunKey(key)) continue;
    out = out.flatMap((prefix) => values.map((v): Array<[RunKey, string]> => [...prefix, [key, v]]));
  }
  return out;
}

/** The results.csv columns of one run: every option, null where the run ignores it. */
function configRow(v: Parsed, inert: (k: RunKey) => string | null): Row {
  const config: Row = {};
  for (const k of RUN_KEYS) {
    const spec: Spec = RUN_OPTIONS[k];
    const off = inert(k) !== null;
    const value = k === 'runtime' ? (RUNTIME_ALIASES[v[k] as string] ?? null) : v[k];
    if (typeof spec.column === 'string') config[spec.column] = off ? null : (value as Cell);
    else spec.column.forEach((c, i) => (config[c] = off ? null : ((value as readonly [number, number])[i] ?? null)));
  }
  return config;
}

/** `given`: the keys set or swept on the command line (an inert one among them is refused). */
function toRunOptions(values: Map<RunKey, string>, given: ReadonlySet<RunKey>): RunOptions {
  const v = {} as Record<RunKey, Value>;
  for (const k of RUN_KEYS) {
    const spec: Spec = RUN_OPTIONS[k];
    v[k] = spec.parse(values.get(k) ?? spec.default, k);
  }
  const inert = (k: RunKey): string | null => (RUN_OPTIONS[k] as Spec).inert?.(v) ?? null;
  for (const k of given) {
    const why = inert(k);
    if (why !== null) throw new OptionError(`--${k}: ${why}${(RUN_OPTIONS[k] as Spec).param === undefined ? '' : '; sweep a policy and its parameters in separate runs'}`);
  }
  const n = (k: RunKey): number => v[k] as number;
  const s = (k: RunKey): string => v[k] as string;
  if (n('proposers') > n('replicas')) throw new OptionError(`--proposers (${n('proposers')}) must be at most --replicas (${n('replicas')})`);
  if (n('young-gen-mb') > 0 && n('young-gen-mb') < 8) throw new OptionError(`--young-gen-mb must be 0 (V8's default) or 8..4096, got ${n('young-gen-mb')}`);
  if (n('reads') > 0 && s('read-consistency') === 'lease' && s('policy') !== 'lease') throw new OptionError(`--read-consistency lease needs --policy lease, not ${s('policy')}`);
  let policy: PolicySpec;
  try {
    policy = policySpec(s('policy'), {
      delay_ms: n('delay-ms'), base_ms: n('base-ms'), cap_ms: n('cap-ms'), multiplier: n('multiplier'),
      jitter: s('jitter') as Jitter, heartbeat_ms: n('heartbeat-ms'), election_timeout_ms: n('election-timeout-ms'),
      lease_ms: n('lease-ms'), drift_ms: n('drift-ms'), window: n('window'), after_lost_slot: s('after-lost-slot') as AfterLostSlot,
    });
  } catch (e) {
    throw new OptionError(e instanceof Error ? e.message : String(e));
  }
  return {
    replicas: n('replicas'), storage: s('storage') as RunOptions['storage'], fsync: s('fsync') as RunOptions['fsync'],
    proposers: n('proposers'), outstanding: n('outstanding'), workload: s('workload') as RunOptions['workload'],
    rate_per_s: n('rate'), conflict_pct: n('conflict'), value_bytes: n('value-bytes'), policy,
    duration_ms: n('duration'), warmup_ms: n('warmup'), seed: n('seed'), runtime: RUNTIME_ALIASES[s('runtime')] ?? 'threads',
    apply_cost_us: n('apply-cost-us'), livelock_threshold_ms: n('livelock-ms'),
    reads_pct: n('reads'), read_consistency: s('read-consistency') as RunOptions['read_consistency'],
    batch_max: n('batch-max'), batch_delay_us: n('batch-delay-us'), young_gen_mb: n('young-gen-mb'),
    faults: faultOptions(v), config: configRow(v, inert),
  };
}

/** Null unless a chaos flag is set: then the cluster runs with the fault layer (threads runtime only). */
function faultOptions(v: Parsed): RunOptions['faults'] {
  const spec: FaultSpec = {};
  const p = (k: 'drop' | 'dup' | 'reorder'): number => (v[k] as number) / 100;
  if (p('drop') > 0) spec.drop = p('drop');
  if (p('dup') > 0) spec.duplicate = p('dup');
  if (p('reorder') > 0) spec.reorder = p('reorder');
  const delay = v.delay as readonly [number, number];
  if (delay[1] > 0) spec.delay_ms = [delay[0], delay[1]];
  const nemesis: NemesisOptions = { partitionEvery_ms: v['partition-every'] as number, pauseEvery_ms: v['pause-every'] as number, pause_ms: v.pause as number, crashEvery_ms: 0 };
  if (Object.keys(spec).length === 0 && nemesis.partitionEvery_ms === 0 && nemesis.pauseEvery_ms === 0) return null;
  if (RUNTIME_ALIASES[v.runtime as string] === 'inline') throw new OptionError('the chaos flags (--drop, --delay, --dup, --reorder, --partition-every, --pause-every) need --runtime threads');
  return { spec, nemesis };
}

export function helpText(): string {
  const lines = [
    'usage: npm run bench -- [options]',
    '       npm run bench -- compare A B [--fail-above P%] [--metrics m,...] [--ignore col,...]   (compare -h: more)',
    '',
    'run options (each may be swept with --sweep key=a,b,c; a duration needs its unit: 500ms, 10s, 1m):',
  ];
  for (const k of RUN_KEYS) {
    const spec: Spec = RUN_OPTIONS[k];
    lines.push(`  --${k.padEnd(22)} ${spec.help} (default ${spec.default})`);
  }
  lines.push('', 'invocation options:');
  lines.push('  --out DIR                results root; each invocation writes DIR/<timestamp>/ (default results)');
  lines.push('  --repeat N               run each configuration N times, interleaved (A B A B, not A A B B); tables, CSV');
  lines.push(`                           and plots show median, min-max and a 95% CI; a verdict between two needs N >= ${MIN_RUNS_FOR_VERDICT}`);
  lines.push('  --json                   print a JSON summary (an array with --sweep or --repeat) as the last stdout line');
  lines.push('  --decisions FILE         one JSON line per decision per replica (FILE.<run> per run with several runs)');
  lines.push('  --timeline FILE.svg      instead of benchmarking: a short real run (workers, each of --proposers proposing one value at once) drawn as a ballot timeline');
  lines.push('  --sweep key=a,b,c        run the cross product of values (repeatable)');
  lines.push('  --compare-inline         also run each threads run inline and report the speed-up');
  lines.push('  --quiet                  no progress line per run on stderr');
  lines.push('  -h, --help               this text');
  return lines.join('\n');
}
