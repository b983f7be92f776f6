/**
 * Backoff delays: exponential growth with a cap, and four jitter modes
 * (as in the AWS Architecture Blog's "Exponential Backoff and Jitter").
 * Pure: the random source is a parameter.
 *
 * Ranges, with ceil = min(cap_ms, base_ms * multiplier^(attempt - 1)):
 * - none:         exactly ceil
 * - full:         [0, ceil)
 * - equal:        [ceil / 2, ceil)
 * - decorrelated: [base_ms, min(cap_ms, 3 * previous)), previous starting at base_ms
 */

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

/** Stateful only for decorrelated jitter, which grows from its own previous draw. */
export class ExponentialBackoff {
  private previous_ms: number;

  constructor(readonly params: ExponentialParams) {
    this.previous_ms = params.base_ms;
  }

  next_ms(attempt: number, random: () => number): number {
    const p = this.params;
    switch (p.jitter) {
      case 'none':
        return exponentialCeiling_ms(p, attempt);
      case 'full':
        return random() * exponentialCeiling_ms(p, attempt);
      case 'equal': {
        const ceil = exponentialCeiling_ms(p, attempt);
        return ceil / 2 + (random() * ceil) / 2;
      }
      case 'decorrelated': {
        const hi = Math.min(p.cap_ms, this.previous_ms * 3);
        const d = hi <= p.base_ms ? p.base_ms : p.base_ms + random() * (hi - p.base_ms);
        this.previous_ms = d;
        return d;
      }
    }
  }

  reset(): void {
    this.previous_ms = this.params.base_ms;
  }
}
