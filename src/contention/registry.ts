/**
 * Policy registry: names, parameters with defaults, and one-line validation.
 * Adding a policy: write `src/contention/<name>.ts` exporting a factory that
 * returns a ContentionPolicy, then add one entry to POLICIES below.
 */
import { JITTERS, type Jitter } from './backoff.js';
import { exponential } from './exponential.js';
import { fixed } from './fixed.js';
import { immediate } from './immediate.js';
import { leader } from './leader.js';
import { lease } from './lease.js';
import type { AfterLostSlot, ContentionPolicy } from '../paxos/policy.js';

/** Every tunable of every policy, as plain data (a benchmark sweep varies these). */
export interface PolicyParams {
  /** fixed: the delay before each retry. */
  delay_ms: number;
  /** exponential: first delay ceiling, cap and growth. Leader-based policies reuse base/cap for phase-1 retries. */
  base_ms: number;
  cap_ms: number;
  multiplier: number;
  jitter: Jitter;
  /** leader, lease: heartbeat period and the silence after which the leader is suspected. */
  heartbeat_ms: number;
  election_timeout_ms: number;
  /** lease: grant length and the clock drift bound the holder subtracts. */
  lease_ms: number;
  drift_ms: number;
  /** Slots one proposer keeps in flight. */
  window: number;
  /** fixed, exponential: after a value's slot goes to another value, move to the next slot at once or back off first. */
  after_lost_slot: AfterLostSlot;
}

export const AFTER_LOST_SLOT: readonly AfterLostSlot[] = ['now', 'backoff'];

export const DEFAULT_PARAMS: Readonly<PolicyParams> = Object.freeze({
  delay_ms: 2,
  base_ms: 1,
  cap_ms: 64,
  multiplier: 2,
  jitter: 'full',
  heartbeat_ms: 10,
  election_timeout_ms: 50,
  lease_ms: 100,
  drift_ms: 10,
  window: 1,
  after_lost_slot: 'now',
});

/**
 * Each policy with the parameters it reads (`reads`): a tool refuses a flag or
 * a swept key the chosen policy ignores, so a sweep never varies a no-op.
 */
export const POLICIES = {
  immediate: { about: 'retry at once with a higher ballot (may livelock)', reads: ['window'], create: (p: PolicyParams) => immediate(p) },
  fixed: { about: 'retry after delay_ms', reads: ['delay_ms', 'window', 'after_lost_slot'], create: (p: PolicyParams) => fixed(p) },
  exponential: {
    about: 'retry after base_ms * multiplier^n up to cap_ms, with jitter',
    reads: ['base_ms', 'cap_ms', 'multiplier', 'jitter', 'window', 'after_lost_slot'],
    create: (p: PolicyParams) => exponential(p),
  },
  leader: {
    about: 'Omega leader election, stable-leader Multi-Paxos',
    reads: ['heartbeat_ms', 'election_timeout_ms', 'base_ms', 'cap_ms', 'window'],
    create: (p: PolicyParams) => leader(p),
  },
  lease: {
    about: 'leader election plus Paxos leases',
    reads: ['heartbeat_ms', 'election_timeout_ms', 'base_ms', 'cap_ms', 'lease_ms', 'drift_ms', 'window'],
    create: (p: PolicyParams) => lease(p),
  },
} as const satisfies Record<string, { about: string; reads: ReadonlyArray<keyof PolicyParams>; create: (p: PolicyParams) => ContentionPolicy }>;

export type PolicyName = keyof typeof POLICIES;
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

export interface PolicySpec {
  name: PolicyName;
  params: PolicyParams;
}

export function isPolicyName(s: string): s is PolicyName {
  return Object.hasOwn(POLICIES, s);
}

/** Throws a RangeError with a one-line reason for any invalid parameter. */
export function validateParams(p: PolicyParams): void {
  const positive = (k: keyof PolicyParams, min = 0): void => {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`${k} must be a number >= ${min}, got ${String(v)}`);
  };
  positive('delay_ms');
  positive('base_ms');
  positive('cap_ms');
  positive('multiplier', 1);
  positive('heartbeat_ms', 0.001);
  positive('election_timeout_ms', 0.001);
  positive('lease_ms', 0.001);
  positive('drift_ms');
  if (!Number.isInteger(p.window) || p.window < 1 || p.window > 1_000_000) throw new RangeError(`window must be an integer in 1..1000000, got ${p.window}`);
  if (p.cap_ms < p.base_ms) throw new RangeError(`cap_ms (${p.cap_ms}) must be >= base_ms (${p.base_ms})`);
  if (!AFTER_LOST_SLOT.includes(p.after_lost_slot)) throw new RangeError(`after_lost_slot must be one of ${AFTER_LOST_SLOT.join(', ')}, got ${String(p.after_lost_slot)}`);
  if (!(JITTERS as readonly string[]).includes(p.jitter)) throw new RangeError(`jitter must be one of ${JITTERS.join(', ')}, got ${String(p.jitter)}`);
  if (p.drift_ms >= p.lease_ms) throw new RangeError(`drift_ms (${p.drift_ms}) must be below lease_ms (${p.lease_ms})`);
  if (p.election_timeout_ms <= p.heartbeat_ms) throw new RangeError(`election_timeout_ms (${p.election_timeout_ms}) must exceed heartbeat_ms (${p.heartbeat_ms})`);
}

/** Policies are pure (their state lives in the replica), so replicas may share one. */
export function createPolicy(spec: PolicySpec): ContentionPolicy {
  validateParams(spec.params);
  return POLICIES[spec.name].create(spec.params);
}

export function policySpec(name: string, overrides: Partial<PolicyParams> = {}): PolicySpec {
  if (!isPolicyName(name)) throw new RangeError(`unknown policy '${name}' (expected one of ${POLICY_NAMES.join(', ')})`);
  const params = { ...DEFAULT_PARAMS, ...overrides };
  validateParams(params);
  return { name, params };
}
