/**
 * The simulator's run parameters as the command line names them, parsed into
 * a RunSpec (everything a run needs but its seed), with the rules that refuse
 * a flag the run would ignore. One parser serves plain runs and each point
 * of a sweep, so a sweep point is refused for exactly the reasons a plain run
 * with the same flags would be.
 */
import { checkPolicyFlagsApply, isPolicyFlag, POLICY_FLAGS, POLICY_READS, policyFromFlags } from '../cli/policy-flags.js';
import type { PolicySpec } from '../contention/registry.js';
import type { PlantedBugs } from '../paxos/replica.js';
import { parseDuration_ms, parseInteger, parseMs, parseNumber } from '../base/units.js';
import { formatLatency, parseLatency, type LatencyModel } from './latency.js';
import { formatLink, parseLink, type LinkOverride } from './network.js';
import { autoAttemptTimeout_ms, checkConfig, MAX_SIM_NODES, type SimConfig } from './simulator.js';
import { DEFAULT_WORKLOAD, WORKLOADS, type WorkloadKind, type WorkloadSpec } from './workload.js';

export const BUGS: Array<keyof PlantedBugs> = [
  'quorumOneTooSmall', 'acceptBelowPromise', 'proposeArbitraryValue', 'reuseBallotAfterRestart', 'skipPersistPromise', 'promiseForgotten',
  // Lease reads (policy lease): the swarm catches the first two in a few seeds of hundreds; the third only a scripted scenario does.
  'leaseReadBeforeRecovered', 'leaseReadWhileNotLeading', 'leaseIgnoresBallot',
];

/** Flags that set a run parameter (a sweep may vary any of them): [argument, help]. */
export const PARAM_HELP = {
  replicas: ['N', "acceptors, each also a proposer and learner (default: 3 and 5, alternating by seed)"],
  proposers: ['N', "nodes that receive proposals; above --replicas the extra nodes propose and learn but never vote (default: 2..5 by seed, at most replicas)"],
  workload: ['KIND', "uniform (over the fault phase; default) | burst (all at t=0) | closed | open"],
  proposals: ['N', "uniform, burst, closed: proposals per proposer (default 5)"],
  outstanding: ['N', "closed: proposals each proposer keeps in flight (default 1)"],
  rate: ['N/s', "open: Poisson arrivals per second over all proposers (default 1000)"],
  duration: ['D', "closed, open: no proposal after this virtual time, e.g. 2s (open default 1s)"],
  conflict: ['P', "percent of proposals that race; the rest go through node 0 one at a time (default 100)"],
  faults: ['swarm|calm', "fault mix drawn per seed, or none (default swarm)"],
  'fault-ms': ['N', "length of the fault phase in virtual ms (default 500)"],
  'liveness-ms': ['N', "bound for every proposal to be decided after faults stop and it was submitted (default 5000)"],
  latency: ['MODEL', "per-message latency: const:5ms | uniform:2ms-8ms | normal:10ms,2ms | lognormal:10ms,0.5 (default: the fault plan's)"],
  processing: ['D', "time a node spends on each message, one at a time, e.g. 20us (default 0)"],
  'attempt-timeout': ['D', "an attempt without a quorum this long has failed (default auto: 20ms, or 4x the slowest link's p99 latency)"],
  isolate: ['N@T', "cut node N off from all others at virtual time T until faults stop (failover timing)"],
  'max-events': ['N', "stop a run after this many events (a livelocked run still ends; default 2000000)"],
  retain: ['N', "decided slots each node keeps below its first undecided one (default: all)"],
  'snapshot-every': ['N', "each node snapshots every N applied slots and compacts its records; a node behind catches up by snapshot (default: none)"],
  policy: ['NAME', "contention policy (default exponential)"],
} as const;

export type ParamKey = keyof typeof PARAM_HELP | keyof typeof POLICY_FLAGS;

/** The results.csv column of each run parameter (specColumns' key), where it differs from the flag's name. */
const PARAM_COLUMN: Readonly<Partial<Record<keyof typeof PARAM_HELP, string>>> = {
  proposals: 'proposals_per_proposer', rate: 'rate_per_s', duration: 'duration_ms', conflict: 'conflict_pct', 'fault-ms': 'fault_ms', 'liveness-ms': 'liveness_ms',
  processing: 'processing_ms', 'attempt-timeout': 'attempt_timeout_ms', 'max-events': 'max_events',
};

/** The column of a flag (`--base-ms` -> base_ms, `--rate` -> rate_per_s). */
export function columnOf(key: ParamKey): string {
  if (isPolicyFlag(key)) return POLICY_FLAGS[key];
  return PARAM_COLUMN[key] ?? key;
}

export function isParamKey(key: string): key is ParamKey {
  return Object.hasOwn(PARAM_HELP, key) || isPolicyFlag(key);
}

/** Workload flags and the workloads that read them (any other is refused). */
const WORKLOAD_READS: Readonly<Record<string, readonly WorkloadKind[]>> = {
  proposals: ['uniform', 'burst', 'closed'],
  outstanding: ['closed'],
  rate: ['open'],
  duration: ['closed', 'open'],
};

/** Everything a run needs except its seed. Plain data: it crosses to sweep workers as is. */
export interface RunSpec {
  /** Null: 3 or 5 by seed (the simulator's historical default). */
  replicas: number | null;
  /** Null: 2..5 by seed, at most replicas. */
  proposers: number | null;
  policy: PolicySpec;
  workload: WorkloadSpec;
  faults: 'swarm' | 'calm';
  faultPhase_ms: number;
  liveness_ms: number;
  latency: LatencyModel | null;
  links: LinkOverride[];
  processing_ms: number;
  /** Null: autoAttemptTimeout_ms. */
  attemptTimeout_ms: number | null;
  isolate: { node: number; at_ms: number } | null;
  maxEvents: number;
  /** Null: every decided slot kept. */
  retainDecided: number | null;
  /** Null: no snapshots. */
  snapshotEvery: number | null;
  bug: keyof PlantedBugs | null;
  traceTail: number;
}

/** One parameter's raw value and whether the user set it (sweep points set their swept keys). */
export type RawParams = ReadonlyMap<string, string>;

/** Parses the run parameters; throws a one-line RangeError. `links` and `bug` are not sweepable, so they come apart. */
export function parseRunSpec(params: RawParams, links: readonly string[], bug: string | undefined, trace: boolean): RunSpec {
  const get = (k: ParamKey): string | undefined => params.get(k);
  const policyValues: Record<string, string> = {};
  for (const [k, v] of params) if (k === 'policy' || isPolicyFlag(k)) policyValues[k] = v;
  const policy = policyFromFlags(policyValues);
  checkPolicyFlagsApply(policy.name, params.keys());
  const workload = parseWorkload(params);
  const replicas = opt(get('replicas'), (v) => parseInteger('replicas', v, 1, 64));
  const proposers = opt(get('proposers'), (v) => parseInteger('proposers', v, 1, MAX_SIM_NODES));
  const faults = get('faults') ?? 'swarm';
  if (faults !== 'swarm' && faults !== 'calm') throw new RangeError(`--faults must be swarm or calm, got '${faults}'`);
  if (bug !== undefined && !BUGS.includes(bug as keyof PlantedBugs)) throw new RangeError(`--bug must be one of ${BUGS.join(', ')}, got '${bug}'`);
  const latency = opt(get('latency'), (v) => parseLatency('latency', v));
  if (links.length > 0 && latency === null) throw new RangeError('--link needs a --latency model to override');
  return {
    replicas, proposers, policy, workload, faults,
    faultPhase_ms: parseMs('fault-ms', get('fault-ms') ?? '500', 1, 3_600_000),
    liveness_ms: parseMs('liveness-ms', get('liveness-ms') ?? '5000', 1, 3_600_000),
    latency,
    links: links.map((l) => parseLink('link', l)),
    processing_ms: opt(get('processing'), (v) => parseDuration_ms('processing', v, { max_ms: 60_000 })) ?? 0,
    attemptTimeout_ms: get('attempt-timeout') === 'auto' ? null : opt(get('attempt-timeout'), (v) => parseDuration_ms('attempt-timeout', v, { min_ms: 0.001, max_ms: 3_600_000 })),
    isolate: opt(get('isolate'), parseIsolate),
    maxEvents: parseInteger('max-events', get('max-events') ?? '2000000', 1000, 1_000_000_000),
    retainDecided: opt(get('retain'), (v) => parseInteger('retain', v, 1, 1 << 20)),
    snapshotEvery: opt(get('snapshot-every'), (v) => parseInteger('snapshot-every', v, 1, 1 << 20)),
    bug: (bug as keyof PlantedBugs | undefined) ?? null,
    traceTail: trace ? 40 : 0,
  };
}

function opt<T>(raw: string | undefined, parse: (raw: string) => T): T | null {
  return raw === undefined ? null : parse(raw);
}

function parseWorkload(params: RawParams): WorkloadSpec {
  const kind = params.get('workload') ?? 'uniform';
  if (!(WORKLOADS as readonly string[]).includes(kind)) throw new RangeError(`--workload must be one of ${WORKLOADS.join(', ')}, got '${kind}'`);
  for (const [flag, kinds] of Object.entries(WORKLOAD_READS)) {
    if (params.has(flag) && !kinds.includes(kind as WorkloadKind)) {
      throw new RangeError(`--${flag} does not apply to workload ${kind} (it applies to ${kinds.join(', ')})`);
    }
  }
  const get = (k: string, dflt: string): string => params.get(k) ?? dflt;
  return {
    kind: kind as WorkloadKind,
    proposalsPerProposer: parseInteger('proposals', get('proposals', '5'), 1, 100_000),
    outstanding: parseInteger('outstanding', get('outstanding', '1'), 1, 4096),
    rate_per_s: parseNumber('rate', get('rate', '1000').replace(/\/s$/, ''), 0.001, 10_000_000),
    duration_ms: params.has('duration')
      ? parseDuration_ms('duration', get('duration', ''), { min_ms: 0.001, max_ms: 3_600_000 })
      : kind === 'open' ? 1000 : DEFAULT_WORKLOAD.duration_ms,
    conflict_pct: parseNumber('conflict', get('conflict', '100').replace(/%$/, ''), 0, 100),
  };
}

function parseIsolate(raw: string): { node: number; at_ms: number } {
  const m = /^(\d+)@(.+)$/.exec(raw.trim());
  if (m === null) throw new RangeError(`--isolate must look like 0@300ms (node @ virtual time), got '${raw}'`);
  return { node: parseInteger('isolate', m[1] ?? '', 0, 1023), at_ms: parseDuration_ms('isolate', m[2] ?? '', { max_ms: 3_600_000 }) };
}

/** The replicas and proposers of `seed` (the historical by-seed defaults when unset). */
export function clusterOf(spec: RunSpec, seed: number): { replicas: number; proposers: number } {
  const replicas = spec.replicas ?? (seed % 2 === 0 ? 3 : 5);
  const proposers = spec.proposers ?? Math.min(2 + (Math.abs(seed) % 4), replicas);
  return { replicas, proposers };
}

export function configFor(spec: RunSpec, seed: number): SimConfig {
  const { replicas, proposers } = clusterOf(spec, seed);
  return {
    seed, replicas, proposers, policy: spec.policy, workload: spec.workload, faults: spec.faults,
    faultPhase_ms: spec.faultPhase_ms, liveness_ms: spec.liveness_ms, latency: spec.latency, links: spec.links,
    processing_ms: spec.processing_ms, isolate: spec.isolate, maxEvents: spec.maxEvents,
    ...(spec.attemptTimeout_ms === null ? {} : { attemptTimeout_ms: spec.attemptTimeout_ms }),
    ...(spec.retainDecided === null ? {} : { retainDecided: spec.retainDecided }),
    ...(spec.snapshotEvery === null ? {} : { snapshotEvery: spec.snapshotEvery }),
    bugs: spec.bug === null ? {} : { [spec.bug]: true }, traceTail: spec.traceTail,
  };
}

/** Checks the configurations of these seeds (the cluster size may vary by seed); throws a one-line RangeError. */
export function checkSpec(spec: RunSpec, seed0: number, seeds: number): void {
  // Sizes cycle with period 4 in the seed: four seeds cover every shape.
  for (let i = 0; i < Math.min(seeds, 4); i++) checkConfig(configFor(spec, seed0 + i));
}

/** The parameters as columns: every one, set or default, in a fixed order. */
export function specColumns(spec: RunSpec): Record<string, string | number> {
  const w = spec.workload;
  const applies = (flag: string): boolean => (WORKLOAD_READS[flag] ?? WORKLOADS).includes(w.kind);
  const cols: Record<string, string | number> = {
    replicas: spec.replicas ?? 'by-seed',
    proposers: spec.proposers ?? 'by-seed',
    workload: w.kind,
    // Not `proposals`: that is a metric (proposals submitted in a run).
    proposals_per_proposer: applies('proposals') ? w.proposalsPerProposer : '',
    outstanding: applies('outstanding') ? w.outstanding : '',
    rate_per_s: applies('rate') ? w.rate_per_s : '',
    duration_ms: applies('duration') && Number.isFinite(w.duration_ms) ? w.duration_ms : '',
    conflict_pct: w.conflict_pct,
    faults: spec.faults,
    fault_ms: spec.faultPhase_ms,
    liveness_ms: spec.liveness_ms,
    latency: spec.latency === null ? 'fault-plan' : formatLatency(spec.latency),
    links: spec.links.map(formatLink).join(' '),
    processing_ms: spec.processing_ms,
    attempt_timeout_ms: spec.attemptTimeout_ms ?? autoAttemptTimeout_ms(spec),
    isolate: spec.isolate === null ? '' : `${spec.isolate.node}@${spec.isolate.at_ms}ms`,
    max_events: spec.maxEvents,
    retain_decided: spec.retainDecided ?? 'all',
    snapshot_every: spec.snapshotEvery ?? '',
    policy: spec.policy.name,
  };
  for (const key of Object.values(POLICY_FLAGS)) {
    const v = spec.policy.params[key];
    cols[key] = POLICY_READS[spec.policy.name].includes(key) ? v : '';
  }
  return cols;
}
