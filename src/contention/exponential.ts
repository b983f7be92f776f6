/** `exponential`: delays grow by `multiplier` up to `cap_ms`, with jitter; reset when a proposal of ours is decided. */
import { ExponentialBackoff, type ExponentialParams } from './backoff.js';
import type { ContentionPolicy } from '../paxos/policy.js';

export interface ExponentialPolicyParams extends ExponentialParams {
  window: number;
}

export function exponential(p: ExponentialPolicyParams): ContentionPolicy {
  const backoff = new ExponentialBackoff(p);
  return {
    name: 'exponential',
    onFailure: (ev, ctx) => ({ kind: 'retry', delay_ms: backoff.next_ms(ev.attempt, ctx.random) }),
    onDecided: () => backoff.reset(),
    election: null,
    lease: null,
    window: p.window,
  };
}
