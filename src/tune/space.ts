/**
 * What the tuner searches: a grid of parameter settings per policy, on the
 * scales that matter (delays roughly doubling, from below one message delay
 * to many round trips), and the settings it measures the winner against
 * (the registry's defaults).
 */
import { DEFAULT_PARAMS, POLICY_NAMES, policySpec, type PolicyName, type PolicyParams, type PolicySpec } from '../contention/registry.js';
import { JITTERS } from '../contention/backoff.js';
import { AFTER_LOST_SLOT } from '../contention/registry.js';

/** One setting to try: a policy and the parameters the tuner sets (the rest are the registry's defaults). */
export interface Candidate {
  policy: PolicyName;
  params: Partial<PolicyParams>;
}

type Grid = { readonly [K in keyof PolicyParams]?: ReadonlyArray<PolicyParams[K]> };

/** Each tunable policy's grid (`immediate` has nothing to tune but its window). */
export const GRIDS: Readonly<Partial<Record<PolicyName, Grid>>> = {
  fixed: { delay_ms: [1, 2, 5, 10, 20, 40, 80, 160], after_lost_slot: AFTER_LOST_SLOT },
  exponential: {
    base_ms: [1, 2, 5, 10, 20, 50], cap_ms: [100, 500, 2000, 8000], multiplier: [1.5, 2, 3], jitter: JITTERS, after_lost_slot: AFTER_LOST_SLOT,
  },
  leader: { election_timeout_ms: [20, 50, 100, 200, 400], heartbeat_ms: [2, 5, 10, 20] },
  lease: { election_timeout_ms: [20, 50, 100, 200, 400], heartbeat_ms: [2, 5, 10, 20] },
};

export const TUNABLE: readonly PolicyName[] = POLICY_NAMES.filter((p) => GRIDS[p] !== undefined);

/** The grid's cross product for one policy, dropping settings the registry refuses (a cap below the base, a heartbeat at the timeout). */
export function candidatesOf(policy: PolicyName): Candidate[] {
  const grid = GRIDS[policy];
  if (grid === undefined) throw new RangeError(`policy ${policy} has nothing to tune (tunable: ${TUNABLE.join(', ')})`);
  let out: Array<Partial<PolicyParams>> = [{}];
  for (const [key, values] of Object.entries(grid) as Array<[keyof PolicyParams, ReadonlyArray<PolicyParams[keyof PolicyParams]>]>) {
    out = out.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return out.filter((params) => valid(policy, params)).map((params) => ({ policy, params }));
}

function valid(policy: PolicyName, params: Partial<PolicyParams>): boolean {
  try {
    policySpec(policy, params);
    return true;
  } catch {
    return false;
  }
}

/** The registry's defaults for a policy, as a candidate (the tuner's baseline). */
export function defaultsOf(policy: PolicyName): Candidate {
  const grid = GRIDS[policy] ?? {};
  const params: Partial<PolicyParams> = {};
  for (const key of Object.keys(grid) as Array<keyof PolicyParams>) (params as Record<string, unknown>)[key] = DEFAULT_PARAMS[key];
  return { policy, params };
}

export function specOf(c: Candidate): PolicySpec {
  return policySpec(c.policy, c.params);
}

/** `exponential base_ms=5 cap_ms=2000 ...`: the policy and the parameters the grid sets. */
export function candidateLabel(c: Candidate): string {
  return [c.policy, ...Object.entries(c.params).map(([k, v]) => `${k}=${String(v)}`)].join(' ');
}

/** The same setting written as flags, for a command that reproduces it. */
export function candidateFlags(c: Candidate, flagOf: (key: keyof PolicyParams) => string): string {
  return [`--policy ${c.policy}`, ...Object.entries(c.params).map(([k, v]) => `--${flagOf(k as keyof PolicyParams)} ${String(v)}`)].join(' ');
}
