/**
 * `lease`: leader election plus Paxos leases. The leader asks every node for a
 * lease; a majority of grants makes it the holder for `lease_ms - drift_ms` on
 * its own clock, counted from when it sent the request. A grantor refuses
 * prepares from any other node until its grant (`lease_ms` on its own clock)
 * ends, so a valid holder cannot be pre-empted. Monotonic clocks only.
 */
import { leader, type LeaderParams } from './leader.js';
import type { ContentionPolicy } from '../paxos/policy.js';

export interface LeasePolicyParams extends LeaderParams {
  lease_ms: number;
  drift_ms: number;
}

export function lease(p: LeasePolicyParams): ContentionPolicy {
  if (p.drift_ms >= p.lease_ms) throw new RangeError(`lease: drift_ms (${p.drift_ms}) must be below lease_ms (${p.lease_ms})`);
  return leader(p, { lease_ms: p.lease_ms, drift_ms: p.drift_ms });
}
