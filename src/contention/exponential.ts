/** `exponential`: delays grow by `multiplier` up to `cap_ms`, with jitter; a proposer's backoff state resets when its value is decided. */
import { exponentialDelay, type ExponentialParams } from './backoff.js';
import type { AfterLostSlot, ContentionPolicy } from '../paxos/policy.js';

export interface ExponentialPolicyParams extends ExponentialParams {
  window: number;
  after_lost_slot: AfterLostSlot;
}

export function exponential(p: ExponentialPolicyParams): ContentionPolicy {
  return { name: 'exponential', retryDelay_ms: exponentialDelay(p), usesPreviousDelay: p.jitter === 'decorrelated', afterLostSlot: p.after_lost_slot, election: null, lease: null, window: p.window };
}
