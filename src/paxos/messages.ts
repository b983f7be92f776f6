/**
 * Protocol messages, as plain objects inside the core. On the wire they travel
 * as flat tuples (see codec.ts): numbers and strings only, no nesting, which
 * structured clone copies about twice as fast as nested objects.
 */
import type { Ballot, NodeId } from './ballot.js';

export type Slot = number;
/** Values are opaque strings to the protocol. The empty string is the no-op a leader fills holes with. */
export type Value = string;
export const NOOP: Value = '';

/** Numeric tags: cheap to switch on and to encode. Tags are part of the wire format. */
export const MsgType = {
  Prepare: 1,
  Promise: 2,
  Accept: 3,
  Accepted: 4,
  Nack: 5,
  Decide: 6,
  Forward: 7,
  Heartbeat: 8,
  LeaseRequest: 9,
  LeaseGrant: 10,
  LearnRequest: 11,
  Commit: 12,
  Submit: 13,
  ReadIndex: 14,
  ReadAck: 15,
  SnapRequest: 16,
  SnapChunk: 17,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** A vote an acceptor reports in a promise: it accepted `value` at `ballot` in `slot`. */
export interface Vote {
  slot: Slot;
  ballot: Ballot;
  value: Value;
}

/** Phase 1a. `open`: the prepare covers every slot >= `slot` (stable-leader Multi-Paxos). */
export interface Prepare {
  t: typeof MsgType.Prepare;
  slot: Slot;
  ballot: Ballot;
  open: boolean;
}
/** Phase 1b: a promise for `ballot`, with the sender's votes in the covered slots. */
export interface PromiseMsg {
  t: typeof MsgType.Promise;
  slot: Slot;
  ballot: Ballot;
  open: boolean;
  votes: Vote[];
}
export interface Accept {
  t: typeof MsgType.Accept;
  slot: Slot;
  ballot: Ballot;
  value: Value;
}
export interface Accepted {
  t: typeof MsgType.Accepted;
  slot: Slot;
  ballot: Ballot;
}
/** Rejection of `ballot` (a prepare or an accept) because the sender promised `promised` > ballot. */
export interface Nack {
  t: typeof MsgType.Nack;
  slot: Slot;
  ballot: Ballot;
  promised: Ballot;
}
/** `value` is chosen in `slot`. */
export interface Decide {
  t: typeof MsgType.Decide;
  slot: Slot;
  value: Value;
}
/** A client value handed to the node believed to lead. */
export interface Forward {
  t: typeof MsgType.Forward;
  value: Value;
}
/** Leader liveness. `ballot`: the sender's leader ballot (0 if none); `decidedUpTo`: its first undecided slot. */
export interface Heartbeat {
  t: typeof MsgType.Heartbeat;
  ballot: Ballot;
  decidedUpTo: Slot;
}
/**
 * Lease request for the leader at `ballot`; a grant echoes both. `seq` pairs a
 * grant with its request within one ballot; the ballot (never reused, also
 * across a crash) keeps a grant for an earlier incarnation's request from counting.
 */
export interface LeaseRequest {
  t: typeof MsgType.LeaseRequest;
  ballot: Ballot;
  seq: number;
}
export interface LeaseGrant {
  t: typeof MsgType.LeaseGrant;
  ballot: Ballot;
  seq: number;
}
/** "Send me the decisions you know from `slot` on." */
export interface LearnRequest {
  t: typeof MsgType.LearnRequest;
  slot: Slot;
}

/**
 * Stable leader's commit range: the leader at `ballot` decided every slot in
 * [from, to) by counting a quorum of Accepted for `ballot` itself. A receiver
 * learns slot s in the range only if its own vote in s has exactly `ballot`
 * (then its value is the one chosen). Replaces a Decide per slot per follower;
 * slots the leader learned any other way are never in a range.
 */
export interface Commit {
  t: typeof MsgType.Commit;
  ballot: Ballot;
  from: Slot;
  to: Slot;
}

/**
 * "Propose this client command yourself": a replica hands a command to a peer
 * as if a client had given it there (the benchmark funnels non-conflicting
 * proposals through one replica with it). Unlike Forward, which only a node
 * that trusts itself as leader takes, the receiver always proposes it.
 */
export interface Submit {
  t: typeof MsgType.Submit;
  value: Value;
}

/**
 * A read-index round (linearizable reads): the leader at `ballot` asks each
 * acceptor whether it has promised anything higher. An acceptor that has not
 * answers ReadAck with the same ballot and seq; one that has answers a Nack.
 * A quorum of acks, all sent after the reads arrived, shows that no other
 * ballot had a value chosen before them.
 */
export interface ReadIndex {
  t: typeof MsgType.ReadIndex;
  ballot: Ballot;
  seq: number;
}
export interface ReadAck {
  t: typeof MsgType.ReadAck;
  ballot: Ballot;
  seq: number;
}

/**
 * Catch-up by snapshot: "send me your snapshot `index` from character
 * `offset`". A peer that holds that snapshot answers with the chunk there; one
 * that holds only a newer one answers with the newer one's first chunk (the
 * receiver starts over on it); any other peer stays silent. Pull-based, one
 * chunk in flight per transfer: the receiver's memory is the snapshot it
 * assembles, the mesh holds at most one chunk of it.
 */
export interface SnapRequest {
  t: typeof MsgType.SnapRequest;
  index: Slot;
  offset: number;
}

/**
 * One chunk of the sender's durable snapshot at `index` (every slot below
 * `index` is in it): characters [offset, offset + data.length) of `size`, the
 * whole having checksum `crc` (CRC-32 of its bytes, each character one byte).
 * Snapshots at one index are the same bytes on every replica, so a transfer
 * whose sender goes away resumes at its offset from another peer.
 */
export interface SnapChunk {
  t: typeof MsgType.SnapChunk;
  index: Slot;
  size: number;
  crc: number;
  offset: number;
  data: string;
}

export type Message =
  | Prepare
  | PromiseMsg
  | Accept
  | Accepted
  | Nack
  | Decide
  | Forward
  | Heartbeat
  | LeaseRequest
  | LeaseGrant
  | LearnRequest
  | Commit
  | Submit
  | ReadIndex
  | ReadAck
  | SnapRequest
  | SnapChunk;

export interface Envelope {
  from: NodeId;
  to: NodeId;
  msg: Message;
}
