/** `fixed`: retry after the same delay every time. Symmetric proposers stay in step, so it helps less than jitter. */
import type { AfterLostSlot, ContentionPolicy } from '../paxos/policy.js';

export interface FixedParams {
  delay_ms: number;
  window: number;
  after_lost_slot: AfterLostSlot;
}

export function fixed(p: FixedParams): ContentionPolicy {
  return { name: 'fixed', retryDelay_ms: () => p.delay_ms, usesPreviousDelay: false, afterLostSlot: p.after_lost_slot, election: null, lease: null, window: p.window };
}
