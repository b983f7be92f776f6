/**
 * Command-line flags for a contention policy and its parameters, shared by the
 * simulator and the benchmark: `--policy exponential --base-ms 1 --cap-ms 64 --jitter full`.
 */
import { DEFAULT_PARAMS, POLICY_NAMES, policySpec, type PolicyName, type PolicyParams, type PolicySpec } from '../contention/registry.js';

/** Flag name → parameter key, for node:util parseArgs option tables. */
export const POLICY_FLAGS = {
  'delay-ms': 'delay_ms',
  'base-ms': 'base_ms',
  'cap-ms': 'cap_ms',
  multiplier: 'multiplier',
  jitter: 'jitter',
  'heartbeat-ms': 'heartbeat_ms',
  'election-timeout-ms': 'election_timeout_ms',
  'lease-ms': 'lease_ms',
  'drift-ms': 'drift_ms',
  window: 'window',
  'after-lost-slot': 'after_lost_slot',
} as const satisfies Record<string, keyof PolicyParams>;

export type PolicyFlag = keyof typeof POLICY_FLAGS;

/**
 * The parameters each policy reads (the registry's factories, read by hand:
 * keep in step with src/contention). A flag for any other parameter would be
 * silently ignored, so tools refuse it with `checkPolicyFlagsApply`.
 */
export const POLICY_READS: Readonly<Record<PolicyName, readonly (keyof PolicyParams)[]>> = {
  immediate: ['window'],
  fixed: ['delay_ms', 'window'],
  exponential: ['base_ms', 'cap_ms', 'multiplier', 'jitter', 'window'],
  // Leader-based policies retry a rejected phase 1 with full-jitter backoff from base_ms to cap_ms.
  leader: ['heartbeat_ms', 'election_timeout_ms', 'base_ms', 'cap_ms', 'window'],
  lease: ['heartbeat_ms', 'election_timeout_ms', 'base_ms', 'cap_ms', 'lease_ms', 'drift_ms', 'window'],
};

export function isPolicyFlag(flag: string): flag is PolicyFlag {
  return Object.hasOwn(POLICY_FLAGS, flag);
}

/** Throws a one-line RangeError naming the first of `flags` (policy flag names) that `policy` does not read. */
export function checkPolicyFlagsApply(policy: PolicyName, flags: Iterable<string>): void {
  const reads = POLICY_READS[policy];
  for (const flag of flags) {
    if (!isPolicyFlag(flag) || reads.includes(POLICY_FLAGS[flag])) continue;
    const used = (Object.keys(POLICY_FLAGS) as PolicyFlag[]).filter((f) => reads.includes(POLICY_FLAGS[f])).map((f) => `--${f}`);
    throw new RangeError(`--${flag} does not apply to policy ${policy} (it reads ${used.join(', ')})`);
  }
}

export const POLICY_OPTIONS = Object.fromEntries(
  ['policy', ...Object.keys(POLICY_FLAGS)].map((k) => [k, { type: 'string' as const }]),
) as Record<'policy' | PolicyFlag, { type: 'string' }>;

export function policyHelp(): string {
  const lines = [`  --policy NAME            ${POLICY_NAMES.join(' | ')} (default exponential)`];
  for (const [flag, key] of Object.entries(POLICY_FLAGS)) {
    const readers = POLICY_NAMES.filter((p) => POLICY_READS[p].includes(key));
    lines.push(`  --${flag.padEnd(22)} default ${String(DEFAULT_PARAMS[key])} (${readers.join(', ')})`);
  }
  return lines.join('\n');
}

/**
 * Parses the policy flags from parseArgs values; throws RangeError with a
 * one-line reason. `base` replaces registry defaults before the flags apply
 * (the model checker's small time constants).
 */
export function policyFromFlags(
  values: Partial<Record<string, string | boolean | undefined>>,
  fallback = 'exponential',
  base: Partial<PolicyParams> = {},
): PolicySpec {
  const overrides: Partial<PolicyParams> = { ...base };
  for (const [flag, key] of Object.entries(POLICY_FLAGS) as Array<[PolicyFlag, keyof PolicyParams]>) {
    const raw = values[flag];
    if (raw === undefined || typeof raw !== 'string') continue;
    if (key === 'jitter') {
      overrides.jitter = raw as PolicyParams['jitter'];
      continue;
    }
    if (key === 'after_lost_slot') {
      overrides.after_lost_slot = raw as PolicyParams['after_lost_slot'];
      continue;
    }
    const n = Number(raw.replace(/ms$/, ''));
    if (raw.trim() === '' || !Number.isFinite(n)) throw new RangeError(`--${flag} must be a number, got '${raw}'`);
    (overrides as Record<string, number>)[key] = n;
  }
  const name = typeof values.policy === 'string' ? values.policy : fallback;
  return policySpec(name, overrides);
}
