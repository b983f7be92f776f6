/**
 * Command-line flags for a contention policy and its parameters, shared by the
 * simulator, the model checker and the tuner: `--policy exponential --base-ms 1
 * --cap-ms 64 --jitter full`. Quantities go through src/base/units.ts (a flag
 * whose name carries `-ms` takes a bare number of milliseconds or `5ms`).
 */
import { JITTERS } from '../contention/backoff.js';
import { AFTER_LOST_SLOT, DEFAULT_PARAMS, POLICIES, POLICY_NAMES, policySpec, type PolicyName, type PolicyParams, type PolicySpec } from '../contention/registry.js';
import { parseInteger, parseMs, parseNumber } from '../base/units.js';

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

/** The parameters each policy reads: the registry's own list, so a new parameter is refused or accepted as the policy says. */
export const POLICY_READS: Readonly<Record<PolicyName, readonly (keyof PolicyParams)[]>> = {
  immediate: POLICIES.immediate.reads,
  fixed: POLICIES.fixed.reads,
  exponential: POLICIES.exponential.reads,
  leader: POLICIES.leader.reads,
  lease: POLICIES.lease.reads,
};

/** The flag that sets a parameter. */
export function flagOf(key: keyof PolicyParams): PolicyFlag {
  const flag = (Object.keys(POLICY_FLAGS) as PolicyFlag[]).find((f) => POLICY_FLAGS[f] === key);
  if (flag === undefined) throw new Error(`no flag sets ${key}`);
  return flag;
}

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

/** Largest time parameter a flag accepts: an hour. */
const TIME_MS_MAX = 3_600_000;

function oneOf<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw)) throw new RangeError(`--${flag} must be one of ${choices.join(', ')}, got '${raw}'`);
  return raw as T;
}

/** One parameter's value from its flag, through src/base/units.ts; a RangeError names the flag. */
export function parsePolicyParam(flag: PolicyFlag, raw: string): PolicyParams[keyof PolicyParams] {
  const key = POLICY_FLAGS[flag];
  switch (key) {
    case 'jitter':
      return oneOf(flag, raw, JITTERS);
    case 'after_lost_slot':
      return oneOf(flag, raw, AFTER_LOST_SLOT);
    case 'multiplier':
      return parseNumber(flag, raw, 1, 1000);
    case 'window':
      return parseInteger(flag, raw, 1, 1_000_000);
    default:
      return parseMs(flag, raw, 0, TIME_MS_MAX);
  }
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
  const overrides: Record<string, unknown> = { ...base };
  for (const flag of Object.keys(POLICY_FLAGS) as PolicyFlag[]) {
    const raw = values[flag];
    if (typeof raw === 'string') overrides[POLICY_FLAGS[flag]] = parsePolicyParam(flag, raw);
  }
  const name = typeof values.policy === 'string' ? values.policy : fallback;
  return policySpec(name, overrides as Partial<PolicyParams>);
}
