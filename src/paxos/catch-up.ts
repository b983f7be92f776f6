/**
 * Catch-up by snapshot, both sides, sans I/O. A replica whose first undecided
 * slot is below a peer's forgotten mark cannot learn those slots from anyone:
 * they are decided, and only snapshots hold them. So the peer answers its
 * LearnRequest with the first chunk of its latest durable snapshot, and the
 * replica pulls the rest one chunk at a time (SnapRequest -> SnapChunk), then
 * hands the whole to its driver to restore (the `install` effect). The driver
 * answers with `installed` (the core moves its learner and acceptor to the
 * snapshot) or `refused` (nothing changes; that snapshot is not fetched again).
 *
 * Bounded: one chunk in flight per transfer, so the mesh holds at most one
 * chunk of it; the receiver holds the chunks received (at most the snapshot).
 * Resumable: a snapshot at one index is the same bytes on every replica (the
 * driver makes it a function of the decided log), so when the sender goes
 * quiet the receiver asks the next peer for the same snapshot from the same
 * offset; a peer that holds only a newer one sends that one from the start.
 *
 * Snapshots are opaque here: a string of one-byte characters, its size and a
 * checksum the driver computed. The core keeps its two latest (the previous
 * one is still served: a transfer of it may be under way when a new one is
 * taken).
 */
import type { NodeId } from './ballot.js';
import { MsgType, type SnapChunk, type Slot } from './messages.js';
import type { Node } from './node.js';
import type { HeldSnapshot } from './ready.js';

export type { HeldSnapshot } from './ready.js';

/** A snapshot being received. */
export interface Transfer {
  index: Slot;
  size: number;
  crc: number;
  /** Who sent the last chunk (and is asked for the next). */
  from: NodeId;
  parts: string[];
  received: number;
  /** When to ask another peer if no chunk has come (the node's clock). */
  at: number;
  /** Peers asked in a row without a chunk back: once every peer was, the transfer is abandoned. */
  misses: number;
}

export interface CatchUpState {
  /** The latest durable snapshot (taken here or installed), served to peers. */
  own: HeldSnapshot | null;
  /** The one before it, still served. */
  prev: HeldSnapshot | null;
  incoming: Transfer | null;
  /** The last snapshot this driver refused to install: not fetched again (-1: none). */
  refused: Slot;
}

export class CatchUp {
  readonly state: CatchUpState = { own: null, prev: null, incoming: null, refused: -1 };

  constructor(private readonly node: Node) {}

  /** Holds `s` as the latest snapshot (the previous latest is kept, one older is dropped). */
  hold(s: HeldSnapshot): void {
    const st = this.state;
    if (st.own !== null && s.index <= st.own.index) return;
    st.prev = st.own;
    st.own = s;
  }

  /** A peer asked for decisions from `slot`, which we forgot: sends it our snapshot's first chunk, if it is past `slot`. */
  offer(to: NodeId, slot: Slot): boolean {
    const own = this.state.own;
    if (own === null || own.index <= slot) return false;
    this.sendChunk(to, own, 0);
    return true;
  }

  onRequest(from: NodeId, index: Slot, offset: number): void {
    const st = this.state;
    const held = st.own?.index === index ? st.own : st.prev?.index === index ? st.prev : null;
    if (held !== null && offset < held.data.length) return this.sendChunk(from, held, offset);
    // Not that one (any more): a newer one from the start, or silence (the receiver asks elsewhere).
    if (st.own !== null && st.own.index > index) return this.sendChunk(from, st.own, 0);
    this.node.stats.staleMessages++;
  }

  private sendChunk(to: NodeId, s: HeldSnapshot, offset: number): void {
    const data = s.data.slice(offset, offset + this.node.cfg.snapshotChunk_chars);
    this.node.stats.snapshotChunksSent++;
    this.node.send(to, { t: MsgType.SnapChunk, index: s.index, size: s.data.length, crc: s.crc, offset, data });
  }

  /**
   * A chunk: the next one of the transfer under way is taken, and so is the
   * first of a newer snapshot when no transfer is under way, when the peer we
   * asked sent it (it no longer holds ours) or when ours has stalled; any other
   * is dropped. (A newer snapshot offered by anyone else used to replace a
   * transfer still moving: one that took longer than one snapshot interval
   * never finished.)
   */
  onChunk(from: NodeId, m: SnapChunk, now: number): void {
    const node = this.node;
    const st = this.state;
    if (!node.cfg.snapshots || m.index <= node.learner.firstUndecided || m.index === st.refused) return void node.stats.staleMessages++;
    let t = st.incoming;
    if (t === null || m.index > t.index) {
      if (m.offset !== 0 || (t !== null && from !== t.from && now < t.at)) return void node.stats.staleMessages++;
      t = st.incoming = { index: m.index, size: m.size, crc: m.crc, from, parts: [], received: 0, at: 0, misses: 0 };
    } else if (m.index !== t.index || m.size !== t.size || m.crc !== t.crc || m.offset !== t.received) {
      return void node.stats.staleMessages++;
    }
    node.stats.snapshotChunksReceived++;
    t.parts.push(m.data);
    t.received += m.data.length;
    t.from = from;
    t.at = now + this.timeout_ms();
    t.misses = 0;
    if (t.received < t.size) return node.send(from, { t: MsgType.SnapRequest, index: t.index, offset: t.received });
    st.incoming = null;
    node.effects.install = { index: t.index, data: t.parts.join(''), crc: t.crc };
  }

  /**
   * No chunk for a while: ask the next peer for the same snapshot from the
   * same offset. Once every peer was asked in a row with no chunk back, no one
   * holds it (or it never existed: a chunk a faulty peer made up): the
   * transfer is abandoned, and the node's next LearnRequest gets a real offer.
   */
  tick(now: number): void {
    const t = this.state.incoming;
    if (t === null || t.at > now) return;
    const nodes = this.node.cfg.nodes;
    if (t.index <= this.node.learner.firstUndecided || t.misses >= nodes - 1) {
      if (t.misses >= nodes - 1) this.node.stats.snapshotTransfersAbandoned++;
      this.state.incoming = null; // learned past it meanwhile, or abandoned
      return;
    }
    t.misses++;
    let next = (t.from + 1) % nodes;
    if (next === this.node.id) next = (next + 1) % nodes;
    t.from = next;
    t.at = now + this.timeout_ms();
    this.node.send(next, { t: MsgType.SnapRequest, index: t.index, offset: t.received });
  }

  nextDeadline(): number {
    return this.state.incoming?.at ?? Number.POSITIVE_INFINITY;
  }

  /** The driver will not install the snapshot at `index` (it failed to restore, or was not needed). */
  refuse(index: Slot): void {
    this.state.refused = index;
  }

  private timeout_ms(): number {
    return 4 * this.node.cfg.attemptTimeout_ms;
  }
}
