/** `fixed`: retry after the same delay every time. Symmetric proposers stay in step, so it helps less than jitter. */
import type { ContentionPolicy } from '../paxos/policy.js';

export interface FixedParams {
  delay_ms: number;
  window: number;
}

export function fixed(p: FixedParams): ContentionPolicy {
  return {
    name: 'fixed',
    onFailure: () => ({ kind: 'retry', delay_ms: p.delay_ms }),
    onDecided: () => {},
    election: null,
    lease: null,
    window: p.window,
  };
}
