/**
 * Command-line options of `npm run bench`: one table of specs (name, default,
 * parser), so every option has a default and a one-line error, and `--sweep`
 * can vary any of them with the very same parsers.
 */
import { DEFAULT_PARAMS, POLICY_NAMES, policySpec, type PolicySpec } from '../src/contention/registry.js';
import type { WorkloadConfig } from '../src/runtime/workload.js';
import { JITTERS, type Jitter } from '../src/contention/backoff.js';
import { MAX_NODES } from '../src/paxos/ballot.js';
import type { FaultSpec } from '../src/runtime/fault-transport.js';
import { parseDelayRange_ms, parseProbability } from '../src/chaos/flags.js';
import { parseDuration_ms } from '../src/base/units.js';
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
>;

/** One run's settings, validated. */
export interface RunOptions extends WorkloadKnobs {
  replicas: number;
  storage: 'memory' | 'file';
  fsync: 'always' | 'batch';
  policy: PolicySpec;
  duration_ms: number;
  warmup_ms: number;
  runtime: Runtime;
  /** Chaos mode (src/chaos): link faults and the nemesis schedule; null when no fault flag is set. */
  faults: { spec: FaultSpec; nemesis: NemesisOptions } | null;
}

/** Options that apply to the whole invocation, not to one run. */
export interface GlobalOptions {
  out: string;
  json: boolean;
  decisions: string | null;
  compare_inline: boolean;
  sweep: Array<{ key: string; values: string[] }>;
  help: boolean;
}

export class OptionError extends Error {}

type Parser = (raw: string, name: string) => string | number;

const int = (min: number, max: number): Parser => (raw, name) => {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    throw new OptionError(`--${name} must be an integer in ${min}..${max}, got '${raw}'`);
  }
  return v;
};
const num = (min: number, max = Number.MAX_VALUE): Parser => (raw, name) => {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new OptionError(`--${name} must be a number in ${min}..${max === Number.MAX_VALUE ? 'inf' : max}, got '${raw}'`);
  }
  return v;
};
const oneOf = (choices: readonly string[]): Parser => (raw, name) => {
  if (!choices.includes(raw)) throw new OptionError(`--${name} must be one of ${choices.join('|')}, got '${raw}'`);
  return raw;
};
/** A duration with its unit ("10s", "500ms", "1m"; see src/base/units.ts), to ms. */
const duration = (min_ms: number): Parser => (raw, name) => {
  try {
    return parseDuration_ms(name, raw, { min_ms, max_ms: 3_600_000 });
  } catch (e) {
    throw new OptionError(e instanceof Error ? e.message : String(e));
  }
};
/** The chaos flag parsers (src/chaos/flags.ts), with their one-line errors as OptionError. */
const chaos = (f: (flag: string, raw: string) => unknown): Parser => (raw, name) => {
  try {
    f(name, raw);
  } catch (e) {
    throw new OptionError(e instanceof Error ? e.message : String(e));
  }
  return raw;
};
/** "5000" or "5000/s". */
const rate: Parser = (raw, name) => num(1, 10_000_000)(raw.replace(/\/s$/, ''), name);

interface Spec {
  default: string;
  parse: Parser;
  help: string;
}

/** Every run option; keys are the command-line names without dashes. */
export const RUN_OPTIONS = {
  replicas: { default: '3', parse: int(1, Math.min(MAX_NODES, 64)), help: 'replicas (one worker each)' },
  storage: { default: 'memory', parse: oneOf(['memory', 'file']), help: 'acceptor storage' },
  fsync: { default: 'batch', parse: oneOf(['always', 'batch']), help: 'file storage: fsync every record or once per turn' },
  proposers: { default: '3', parse: int(1, 64), help: 'replicas that propose at once (ids 0..n-1)' },
  outstanding: { default: '1', parse: int(1, 4096), help: 'proposals each proposer keeps in flight (closed loop)' },
  workload: { default: 'closed', parse: oneOf(['closed', 'open']), help: 'closed loop or open loop at --rate' },
  rate: { default: '1000', parse: rate, help: 'open loop: proposals per second over all proposers' },
  conflict: { default: '100', parse: num(0, 100), help: 'percent of proposals that race for the same slot' },
  'value-bytes': { default: '16', parse: int(8, 1 << 20), help: 'bytes per proposed value' },
  policy: { default: 'leader', parse: oneOf(POLICY_NAMES), help: `contention policy: ${POLICY_NAMES.join('|')}` },
  'delay-ms': { default: String(DEFAULT_PARAMS.delay_ms), parse: num(0), help: 'fixed: delay before a retry' },
  'base-ms': { default: String(DEFAULT_PARAMS.base_ms), parse: num(0), help: 'exponential: first delay ceiling' },
  'cap-ms': { default: String(DEFAULT_PARAMS.cap_ms), parse: num(0), help: 'exponential: delay cap' },
  multiplier: { default: String(DEFAULT_PARAMS.multiplier), parse: num(1), help: 'exponential: growth per failure' },
  jitter: { default: String(DEFAULT_PARAMS.jitter), parse: oneOf(JITTERS), help: `backoff jitter: ${JITTERS.join('|')}` },
  'heartbeat-ms': { default: String(DEFAULT_PARAMS.heartbeat_ms), parse: num(0.001), help: 'leader, lease: heartbeat period' },
  'election-timeout-ms': { default: String(DEFAULT_PARAMS.election_timeout_ms), parse: num(0.001), help: 'leader, lease: silence before suspicion' },
  'lease-ms': { default: String(DEFAULT_PARAMS.lease_ms), parse: num(0.001), help: 'lease: grant length' },
  'drift-ms': { default: String(DEFAULT_PARAMS.drift_ms), parse: num(0), help: 'lease: clock drift bound' },
  window: { default: String(DEFAULT_PARAMS.window), parse: int(1, 65_536), help: 'slots in flight per proposer (leader: phase-2 window)' },
  duration: { default: '10s', parse: duration(100), help: 'measured time per run' },
  warmup: { default: '2s', parse: duration(0), help: 'time before measuring' },
  seed: { default: '1', parse: int(0, 2 ** 31 - 1), help: 'random seed' },
  runtime: { default: 'threads', parse: oneOf(['threads', 'inline', 'cluster', 'cluster-inline']), help: 'threads: a worker per replica; inline: all on the main thread (cluster, cluster-inline: aliases)' },
  'apply-cost-us': { default: '0', parse: num(0, 1_000_000), help: 'simulated state-machine cost per decision per replica' },
  'livelock-ms': { default: '100', parse: num(1), help: 'a gap without decisions (with proposals pending) longer than this is a livelock episode' },
  drop: { default: '0', parse: chaos(parseProbability), help: 'chaos: chance a message is lost, e.g. 5%' },
  delay: { default: '0', parse: chaos(parseDelayRange_ms), help: 'chaos: per-message delay range, e.g. 0-2ms' },
  dup: { default: '0', parse: chaos(parseProbability), help: 'chaos: chance a message is delivered twice, e.g. 1%' },
  reorder: { default: '0', parse: chaos(parseProbability), help: 'chaos: chance a message is overtaken by later ones' },
  'partition-every': { default: '0', parse: duration(0), help: 'chaos: cut a random minority off every T (healed after T/2); 0: never' },
  'pause-every': { default: '0', parse: duration(0), help: 'chaos: stall a random replica for --pause every T; 0: never' },
  pause: { default: '200ms', parse: duration(1), help: 'chaos: how long a pause stalls a replica' },
} as const satisfies Record<string, Spec>;

export type RunKey = keyof typeof RUN_OPTIONS;
const RUN_KEYS = Object.keys(RUN_OPTIONS) as RunKey[];
const FLAGS = ['json', 'compare-inline', 'help'] as const;
const GLOBAL_VALUED = ['out', 'decisions', 'sweep'] as const;

function isRunKey(k: string): k is RunKey {
  return Object.hasOwn(RUN_OPTIONS, k);
}

export interface ParsedArgs {
  global: GlobalOptions;
  /** One validated option set per run (the sweep's cross product, or one). */
  runs: RunOptions[];
  /** The raw values of the keys a sweep varies, per run (for labels). */
  labels: string[];
}

/** Parses argv (without node and script). Throws OptionError with a one-line reason. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const raw = new Map<RunKey, string>();
  const global: GlobalOptions = { out: 'results', json: false, decisions: null, compare_inline: false, sweep: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
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
    if (name === 'out') {
      if (value === '') throw new OptionError('--out needs a directory');
      global.out = value;
    } else if (name === 'decisions') {
      if (value === '') throw new OptionError('--decisions needs a file name');
      global.decisions = value;
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
  const combos = crossProduct(global.sweep);
  if (combos.length > 1000) throw new OptionError(`--sweep gives ${combos.length} runs (at most 1000)`);
  const runs: RunOptions[] = [];
  const labels: string[] = [];
  for (const combo of combos) {
    const values = new Map(raw);
    for (const [k, v] of combo) values.set(k, v);
    runs.push(toRunOptions(values));
    labels.push(combo.map(([k, v]) => `${k}=${v}`).join(' '));
  }
  return { global, runs, labels };
}

function crossProduct(sweep: GlobalOptions['sweep']): Array<Array<[RunKey, string]>> {
  let out: Array<Array<[RunKey, string]>> = [[]];
  for (const { key, values } of sweep) {
    if (!isRunKey(key)) continue;
    out = out.flatMap((prefix) => values.map((v): Array<[RunKey, string]> => [...prefix, [key, v]]));
  }
  return out;
}

function toRunOptions(values: Map<RunKey, string>): RunOptions {
  const v = {} as Record<RunKey, string | number>;
  for (const k of RUN_KEYS) {
    const spec: Spec = RUN_OPTIONS[k];
    v[k] = spec.parse(values.get(k) ?? spec.default, k);
  }
  const n = (k: RunKey): number => v[k] as number;
  const s = (k: RunKey): string => v[k] as string;
  if (n('proposers') > n('replicas')) throw new OptionError(`--proposers (${n('proposers')}) must be at most --replicas (${n('replicas')})`);
  let policy: PolicySpec;
  try {
    policy = policySpec(s('policy'), {
      delay_ms: n('delay-ms'), base_ms: n('base-ms'), cap_ms: n('cap-ms'), multiplier: n('multiplier'),
      jitter: s('jitter') as Jitter, heartbeat_ms: n('heartbeat-ms'), election_timeout_ms: n('election-timeout-ms'),
      lease_ms: n('lease-ms'), drift_ms: n('drift-ms'), window: n('window'),
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
    faults: faultOptions(s, n),
  };
}

/** Null unless a chaos flag is set: then the cluster runs with the fault layer (threads runtime only). */
function faultOptions(s: (k: RunKey) => string, n: (k: RunKey) => number): RunOptions['faults'] {
  const spec: FaultSpec = {};
  if (parseProbability('drop', s('drop')) > 0) spec.drop = parseProbability('drop', s('drop'));
  if (parseProbability('dup', s('dup')) > 0) spec.duplicate = parseProbability('dup', s('dup'));
  if (parseProbability('reorder', s('reorder')) > 0) spec.reorder = parseProbability('reorder', s('reorder'));
  const delay = parseDelayRange_ms('delay', s('delay'));
  if (delay[1] > 0) spec.delay_ms = delay;
  const nemesis: NemesisOptions = { partitionEvery_ms: n('partition-every'), pauseEvery_ms: n('pause-every'), pause_ms: n('pause'), crashEvery_ms: 0 };
  if (Object.keys(spec).length === 0 && nemesis.partitionEvery_ms === 0 && nemesis.pauseEvery_ms === 0) return null;
  if (RUNTIME_ALIASES[s('runtime')] === 'inline') throw new OptionError('the chaos flags (--drop, --delay, --dup, --reorder, --partition-every, --pause-every) need --runtime threads');
  return { spec, nemesis };
}

export function helpText(): string {
  const lines = ['usage: npm run bench -- [options]', '', 'run options (each may be swept with --sweep key=a,b,c):'];
  for (const k of RUN_KEYS) {
    const spec: Spec = RUN_OPTIONS[k];
    lines.push(`  --${k.padEnd(22)} ${spec.help} (default ${spec.default})`);
  }
  lines.push('', 'invocation options:');
  lines.push('  --out DIR                results root; each invocation writes DIR/<timestamp>/ (default results)');
  lines.push('  --json                   print a JSON summary (an array with --sweep) as the last stdout line');
  lines.push('  --decisions FILE         one JSON line per decision per replica (FILE.<run> per run with a sweep)');
  lines.push('  --sweep key=a,b,c        run the cross product of values (repeatable)');
  lines.push('  --compare-inline         also run each threads run inline and report the speed-up');
  lines.push('  --help                   this text');
  return lines.join('\n');
}
