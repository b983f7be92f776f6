/**
 * `leader`: Omega leader election. Every node sends heartbeats; the leader is the
 * smallest id heard from within the election timeout. Non-leaders forward
 * proposals to it, and the leader runs stable-leader Multi-Paxos (phase 1 once
 * for all slots, then phase 2 only, with a window of slots in flight).
 * When its phase 1 is rejected, the leader retries after a jittered backoff
 * so that two nodes that both believe they lead do not duel in lockstep.
 */
import { exponentialDelay } from './backoff.js';
import type { ContentionPolicy, LeaseParams } from '../paxos/policy.js';

export interface LeaderParams {
  heartbeat_ms: number;
  election_timeout_ms: number;
  base_ms: number;
  cap_ms: number;
  window: number;
}

export function leader(p: LeaderParams, lease: LeaseParams | null = null): ContentionPolicy {
  return {
    name: lease === null ? 'leader' : 'lease',
    retryDelay_ms: exponentialDelay({ base_ms: p.base_ms, cap_ms: p.cap_ms, multiplier: 2, jitter: 'full' }),
    usesPreviousDelay: false,
    // A stable leader proposes every slot itself: a value never loses a slot to a rival proposer.
    afterLostSlot: 'now',
    election: { heartbeat_ms: p.heartbeat_ms, timeout_ms: p.election_timeout_ms },
    lease,
    window: p.window,
  };
}
