/**
 * Introspection for the model checker and tests, beside the core rather than
 * inside it: a canonical fingerprint of every field that can affect a
 * replica's future behaviour, and read-only views of its proposer.
 *
 * Times are written relative to `now_ms`, because the core only ever compares
 * times, so two states that differ by a shift of the clock behave alike; an
 * expired time is clamped where every older value behaves alike (see each
 * clamp), so the state space stays finite. Maps whose iteration order is read
 * (pending, instances, forwarded) keep insertion order; the others are sorted.
 */
import type { Ballot, NodeId } from './ballot.js';
import { Phase, phaseName, type Instance } from './instance.js';
import type { StableLeader } from './leader.js';
import type { Slot } from './messages.js';
import type { PerSlotProposer } from './proposer.js';
import type { CatchUpState, HeldSnapshot } from './catch-up.js';
import type { Replica } from './replica.js';

/** Every state field the fingerprint writes, by owner; a test checks the owners have no other field. */
export const FINGERPRINTED = {
  node: ['ballots', 'loopback'],
  ballots: ['round', 'highestSeen'],
  sync: ['syncAt', 'lastLearnRequest_ms', 'syncPeer', 'behindAt'],
  perSlot: ['pending', 'deferred', 'instances', 'backoffPrevious_ms', 'holeSlot', 'holeSince_ms'],
  stableLeader: [
    'role', 'leadBallot', 'leadFailures', 'p1From', 'p1Covered', 'p1Promises', 'p1Votes', 'nextSlot', 'pending', 'instances',
    'forwarded', 'commitFrom', 'commitTo', 'advertisedTo', 'quorumDecided', 'leaseWasValid', 'batchSince', 'heartbeatAt', 'leadAt', 'leaseAt', 'forwardAt', 'batchAt',
    'recoveredTo', 'readSeq', 'readIndex', 'readAcks', 'readWanted', 'readAt',
  ],
  instance: ['slot', 'own', 'value', 'ballot', 'phase', 'ballots', 'failures', 'promises', 'best', 'accepts', 'at'],
  catchUp: ['own', 'prev', 'incoming', 'refused'],
  transfer: ['index', 'size', 'crc', 'from', 'parts', 'received', 'at', 'misses'],
} as const;

const rel = (t: number, now: number): string => (t === Number.POSITIVE_INFINITY ? '-' : String(t - now));

function instanceText(i: Instance, now: number): string {
  const best = i.best === null ? '-' : `${i.best.slot}:${i.best.ballot}:${JSON.stringify(i.best.value)}`;
  return [i.slot, JSON.stringify(i.own), JSON.stringify(i.value), i.ballot, i.phase, i.ballots, i.failures,
    i.promises.fingerprint(), best, i.accepts.fingerprint(), rel(i.at, now)].join('/');
}

/**
 * When the last learn request went out, as `requestLearn` can tell: it only
 * asks whether it was less than sync_ms / 2 ago, and that age only grows, so
 * older requests are written alike.
 */
function learnRequestAge(r: Replica, now: number): string {
  const last = r.sync.lastLearnRequest_ms;
  if (last === Number.NEGATIVE_INFINITY) return 'never';
  const horizon = r.node.cfg.sync_ms / 2;
  if (!Number.isFinite(horizon)) return 'recent'; // never old enough to repeat
  return String(Math.max(last - now, -horizon));
}

function perSlotText(p: PerSlotProposer, r: Replica, now: number): string {
  const st = p.state;
  // How long the watched hole has been open, as the filler can tell: ages past the longest grace are alike.
  const horizon = r.node.cfg.holeGrace_ms * (1 + r.id);
  const holeAge = st.holeSlot < 0 ? '-' : Number.isFinite(horizon) ? String(Math.max(st.holeSince_ms - now, -horizon)) : 'young';
  return [
    JSON.stringify([...st.pending.ordered()].map(([v, c]) => [v, c.ballots, c.failures])),
    JSON.stringify([...st.deferred].map(([v, d]) => [v, d.carry.ballots, d.carry.failures, d.at - now])),
    [...st.instances.values()].map((i) => instanceText(i, now)).join(';'),
    st.backoffPrevious_ms, st.holeSlot, holeAge,
  ].join('#');
}

function stableLeaderText(l: StableLeader, r: Replica, now: number): string {
  const st = l.state;
  const batchDelay = r.node.cfg.batchMax > 1 ? r.node.cfg.batchDelay_ms : 0;
  const p1Votes = [...st.p1Votes.values()].sort((a, b) => a.slot - b.slot).map((v) => `${v.slot}:${v.ballot}:${JSON.stringify(v.value)}`);
  return [
    JSON.stringify([...st.pending.keys()]),
    [...st.instances.values()].map((i) => instanceText(i, now)).join(';'),
    l.omega.fingerprint(now),
    st.role, st.leadBallot, st.leadFailures, st.p1From, st.p1Covered, st.p1Promises.fingerprint(), p1Votes.join(','), st.nextSlot,
    `${st.commitFrom}-${st.commitTo}-${st.advertisedTo}:${st.quorumDecided.keys().join(',')}`,
    JSON.stringify([...st.forwarded].map(([v, at]) => [v, at - now])),
    [st.heartbeatAt, st.leadAt, st.leaseAt, st.forwardAt, st.batchAt].map((t) => rel(t, now)).join(','),
    // Read only with a batch delay, and then only against now: clamped there, as it can only age.
    batchDelay > 0 ? Math.max(st.batchSince - now, -batchDelay) : '-',
    l.grantor === null ? '-' : l.grantor.fingerprint(now),
    l.holder === null ? '-' : l.holder.fingerprint(now),
    st.leaseWasValid,
    // Read only while the learner is below it (then reads wait for it): once reached, every value alike.
    r.node.learner.firstUndecided >= st.recoveredTo ? 'recovered' : st.recoveredTo,
    `${st.readSeq}:${st.readIndex}:${st.readAcks.fingerprint()}:${st.readWanted}:${rel(st.readAt, now)}`,
  ].join('#');
}

/** A held snapshot by index, checksum and size (its bytes are the driver's, opaque to the core). */
const heldText = (h: HeldSnapshot | null): string => (h === null ? '-' : `${h.index}:${h.crc}:${h.data.length}`);

function catchUpText(c: CatchUpState, now: number): string {
  const t = c.incoming;
  const incoming = t === null ? '-' : [t.index, t.size, t.crc, t.from, JSON.stringify(t.parts), t.received, rel(t.at, now), t.misses].join('/');
  return [heldText(c.own), heldText(c.prev), incoming, c.refused].join(',');
}

/** A canonical text of every field that can affect future behaviour (stats and configuration left out). */
export function fingerprint(r: Replica, now_ms: number): string {
  const node = r.node;
  const role = r.role;
  const roleText = role.mode === 'per-slot' ? perSlotText(role as PerSlotProposer, r, now_ms) : stableLeaderText(role as StableLeader, r, now_ms);
  return [
    node.acceptor === null ? '-' : node.acceptor.fingerprint(),
    node.learner.fingerprint(),
    node.ballots.round,
    node.ballots.highestSeen,
    rel(r.sync.syncAt, now_ms),
    learnRequestAge(r, now_ms),
    r.sync.syncPeer,
    r.sync.behindAt,
    node.loopback.length,
    roleText,
    catchUpText(r.catchUp.state, now_ms),
  ].join('#');
}

function instancesOf(r: Replica): { get(slot: Slot): Instance | undefined } {
  return r.role.mode === 'per-slot' ? (r.role as PerSlotProposer).state.instances : (r.role as StableLeader).state.instances;
}

/** The proposer's attempt in `slot`, if any: its ballot and phase (the model checker's "sometimes" properties). */
export function attemptIn(r: Replica, slot: Slot): { ballot: Ballot; ballots: number; phase: 'backoff' | 'prepare' | 'accept' } | null {
  const inst = instancesOf(r).get(slot);
  return inst === undefined ? null : { ballot: inst.ballot, ballots: inst.ballots, phase: phaseName(inst.phase) };
}

/** The ballot of the proposer's attempt in `slot` if it is in phase 1 there, else -1 (no object made: the simulator asks per step). */
export function preparingBallot(r: Replica, slot: Slot): Ballot {
  const inst = instancesOf(r).get(slot);
  return inst !== undefined && inst.phase === Phase.Prepare ? inst.ballot : -1;
}

/** Stable-leader state ('idle' in per-slot mode). */
export function leadership(r: Replica): 'idle' | 'preparing' | 'leading' {
  return r.role.mode === 'stable-leader' ? (r.role as StableLeader).state.role : 'idle';
}

/** Lease requests a holder has started (the model checker bounds them). */
export function leaseRequests(r: Replica): number {
  return r.role.mode === 'stable-leader' ? ((r.role as StableLeader).holder?.requests ?? 0) : 0;
}

export type { NodeId };
