/** `immediate`: retry at once with a higher ballot. The baseline; duelling proposers can livelock. */
import type { ContentionPolicy } from '../paxos/policy.js';

export interface ImmediateParams {
  window: number;
}

export function immediate(p: ImmediateParams): ContentionPolicy {
  return { name: 'immediate', retryDelay_ms: () => 0, usesPreviousDelay: false, afterLostSlot: 'now', election: null, lease: null, window: p.window };
}
