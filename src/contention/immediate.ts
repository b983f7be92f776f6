/** `immediate`: retry at once with a higher ballot. The baseline; duelling proposers can livelock. */
import type { ContentionPolicy, FailureAction } from '../paxos/policy.js';

export interface ImmediateParams {
  window: number;
}

export function immediate(p: ImmediateParams): ContentionPolicy {
  const retry: FailureAction = { kind: 'retry', delay_ms: 0 };
  return {
    name: 'immediate',
    onFailure: () => retry,
    onDecided: () => {},
    election: null,
    lease: null,
    window: p.window,
  };
}
