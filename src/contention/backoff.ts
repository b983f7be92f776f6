/**
 * Backoff delays: exponential growth with a cap, and four jitter modes
 * (as in the AWS Architecture Blog's "Exponential Backoff and Jitter").
 * Pure functions: the random source and the previous delay are arguments.
 *
 * Ranges, with ceil = min(cap_ms, base_ms * multiplier^(attempt - 1)):
 * - none:         exactly ceil
 * - full:         [0, ceil)
 * - equal:        [ceil / 2, ceil)
 * - decorrelated: [base_ms, min(cap_ms, 3 * previous)), previous starting at base_ms
 */
import type { RetryDelay } from '../paxos/policy.js';

export const JITTERS = ['none', 'full', 'equal', 'decorrelated'] as const;
export type Jitter = (typeof JITTERS)[number];

export interface ExponentialParams {
  base_ms: number;
  cap_ms: number;
  multiplier: number;
  jitter: Jitter;
}

export function exponentialCeiling_ms(p: ExponentialParams, attempt: number): number {
  // attempt is 1-based; the exponent is clamped so huge attempt counts cannot overflow to Infinity * 0.
  const exp = Math.min(Math.max(attempt - 1, 0), 1024);
  return Math.min(p.cap_ms, p.base_ms * p.multiplier ** exp);
}

/** The retry rule of exponential backoff with `p.jitter`. */
export function exponentialDelay(p: ExponentialParams): RetryDelay {
  switch (p.jitter) {
    case 'none':
      return (attempt) => exponentialCeiling_ms(p, attempt);
    case 'full':
      return (attempt, _previous, random) => random() * exponentialCeiling_ms(p, attempt);
    case 'equal':
      return (attempt, _previous, random) => {
        const ceil = exponentialCeiling_ms(p, attempt);
        return ceil / 2 + (random() * ceil) / 2;
      };
    case 'decorrelated':
      return (_attempt, previous_ms, random) => {
        const hi = Math.min(p.cap_ms, (previous_ms > 0 ? previous_ms : p.base_ms) * 3);
        return hi <= p.base_ms ? p.base_ms : p.base_ms + random() * (hi - p.base_ms);
      };
  }
}
