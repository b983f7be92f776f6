/**
 * The core's output, etcd-raft style: a Ready holds the effects of the inputs
 * since the last hand-over, and every driver (worker, inline, simulator, model
 * checker, scripted tests) applies it through the one `applyReady`, in the
 * order safety needs: persist the records (durable before anything that shows
 * them leaves), then send the messages, then publish the decisions.
 *
 * A received snapshot comes last (`install`): the driver restores it, makes
 * it durable, and only then tells the core, which forgets below it.
 *
 * Messages a replica sends to itself are handled inside the core in the same
 * step and never reach a transport; they stay in `messages` so observers (the
 * simulator's ghost state, the model checker) see every message in order.
 */
import type { NodeId } from './ballot.js';
import type { Message, Slot, Value } from './messages.js';
import type { PersistRecord } from './storage-records.js';

export interface Outgoing {
  to: NodeId;
  msg: Message;
}

export interface Decision {
  slot: Slot;
  value: Value;
  /**
   * Ballots this replica started on the value's behalf, in every slot it
   * tried, if it coordinated the value; 0 if it only learned it.
   */
  ballots: number;
}

/**
 * The outcome of a stable leader's read-index round (linearizable reads):
 * every read whose ticket is at most `seq` may be answered once the slots
 * below `index` are applied; `index` -1: those reads failed (the node stopped
 * leading), and are to be retried at the leader.
 */
export interface ReadConfirmation {
  seq: number;
  index: Slot;
}

/** A durable snapshot (catch-up.ts): every slot below `index` is in it. `data` holds one byte per character. */
export interface HeldSnapshot {
  readonly index: Slot;
  readonly data: string;
  /** CRC-32 of `data`'s bytes, computed by the driver (the core only carries it). */
  readonly crc: number;
}

/** Effects to apply in this order. Read-only: the replica hands a new one over on `takeReady`. */
export interface Ready {
  readonly persist: readonly PersistRecord[];
  readonly messages: readonly Outgoing[];
  readonly decisions: readonly Decision[];
  /** Published after the decisions, so an applier has applied them when the reads are looked at. */
  readonly reads: readonly ReadConfirmation[];
  /**
   * A snapshot received from a peer, whole, for the driver to restore, make
   * durable and then report with `Replica.snapshotInstalled` (or refuse with
   * `Replica.snapshotRefused`: nothing changes). Applied last.
   */
  readonly install: HeldSnapshot | null;
}

/** Where a driver puts a Ready's effects. */
export interface ReadySink {
  /**
   * Must return only once the records are as durable as the storage promises.
   * False: they could not be made durable; nothing after them is sent or published.
   */
  persist(records: readonly PersistRecord[]): boolean | void;
  /** A message to a peer (never to the replica itself). */
  send(to: NodeId, msg: Message): void;
  decided(decisions: readonly Decision[]): void;
  /** Read-index rounds that ended (absent: the driver serves no reads). */
  reads?(reads: readonly ReadConfirmation[]): void;
  /** A received snapshot to install (drivers that take no snapshots never get one: see ReplicaConfig.snapshots). */
  install?(snapshot: HeldSnapshot): void;
  /** Every message, self-addressed ones included, in order, before it is sent (ghost state, traces). */
  observe?(to: NodeId, msg: Message): void;
}

export function isEmptyReady(r: Ready): boolean {
  return r.persist.length === 0 && r.messages.length === 0 && r.decisions.length === 0 && r.reads.length === 0 && r.install === null;
}

/** Applies `ready` from replica `self`: persist, then send, then publish. False if the persist failed (nothing else applied). */
export function applyReady(self: NodeId, ready: Ready, sink: ReadySink): boolean {
  if (ready.persist.length > 0 && sink.persist(ready.persist) === false) return false;
  const observe = sink.observe;
  for (const o of ready.messages) {
    if (observe !== undefined) observe.call(sink, o.to, o.msg);
    if (o.to !== self) sink.send(o.to, o.msg);
  }
  if (ready.decisions.length > 0) sink.decided(ready.decisions);
  if (ready.reads.length > 0) sink.reads?.(ready.reads);
  if (ready.install !== null) {
    if (sink.install === undefined) throw new Error(`replica ${self} received a snapshot, but its driver installs none`);
    sink.install(ready.install);
  }
  return true;
}

const NO_READS: readonly ReadConfirmation[] = Object.freeze([]);

/** The effect buffer the roles write into during a turn. */
export class Effects {
  persist: PersistRecord[] = [];
  messages: Outgoing[] = [];
  decisions: Decision[] = [];
  install: HeldSnapshot | null = null;
  /** Rare (reads only): handed over as the shared empty array when nothing was added, so the hot path allocates nothing more. */
  private reads: ReadConfirmation[] = [];

  addRead(r: ReadConfirmation): void {
    this.reads.push(r);
  }

  /** Hands the accumulated effects over and starts empty ones (the caller may keep the arrays). */
  take(): Ready {
    const reads = this.reads.length === 0 ? NO_READS : this.reads;
    const r: Ready = { persist: this.persist, messages: this.messages, decisions: this.decisions, reads, install: this.install };
    this.persist = [];
    this.messages = [];
    this.decisions = [];
    this.install = null;
    if (reads !== NO_READS) this.reads = [];
    return r;
  }
}
