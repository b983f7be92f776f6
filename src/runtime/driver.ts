/**
 * The replica actor: a bounded mailbox feeding the pure Replica, run to
 * completion once per turn. One turn: drain up to `drainBatch` messages
 * (decode each: malformed ones are counted and dropped), fire due timers, then
 * apply the replica's Ready in order: persist (storage.append returns once
 * durable), send (buffered per peer, flushed at the end of the turn), publish
 * decisions. So a reply never leaves before the state it depends on is stored.
 */
import type { NodeId } from '../paxos/ballot.js';
import { decode, encode, type Wire } from '../paxos/codec.js';
import { MsgType, type Message } from '../paxos/messages.js';
import { applyReady, isEmptyReady, type ReadySink } from '../paxos/ready.js';
import type { Decision, HeldSnapshot, ReadConfirmation, Replica } from '../paxos/replica.js';
import type { PersistRecord } from '../paxos/storage-records.js';
import type { Storage } from '../storage/storage.js';
import { Mailbox } from './mailbox.js';
import { forEachTuple, type Transport, type TransportStats } from './transport.js';

export interface DriverOptions {
  mailboxCapacity?: number;
  /** Messages handled per turn before the actor yields to I/O. */
  drainBatch?: number;
  /** The monotonic clock, in ms. */
  now?: () => number;
  /** Run a turn as soon as an envelope arrives when none is pending (default true); false: always on setImmediate. */
  eagerTurns?: boolean;
  /**
   * The storage threw: the driver has stopped for good (nothing of that turn
   * was sent or published) and reports the error here. Absent: it is thrown.
   */
  onFatal?: (error: Error) => void;
  /** Read-index rounds that ended (published after the same Ready's decisions). */
  onReads?: (reads: readonly ReadConfirmation[]) => void;
  /** A snapshot a peer sent, whole, to restore (the Ready's `install`); absent: refused. */
  onInstall?: (snapshot: HeldSnapshot) => void;
}

export interface DriverStats {
  turns: number;
  malformed: number;
  /** The first malformed message's reason, reported once. */
  malformed_reason: string | null;
  /** Messages refused because the mailbox was full (overload, reported). */
  mailbox_drops: number;
  mailbox_high_water: number;
}

export const DEFAULT_MAILBOX_CAPACITY = 65_536;
/** One turn's effects can cause more (a decision frees a window slot for the next proposal); bound the loop. */
const READY_ROUNDS_MAX = 64;
export const DEFAULT_DRAIN_BATCH = 4096;
/** Messages handled on one clock reading, at most (see ReplicaDriver.turnNow). */
const CLOCK_EVERY = 256;

export class ReplicaDriver {
  readonly stats: DriverStats = { turns: 0, malformed: 0, malformed_reason: null, mailbox_drops: 0, mailbox_high_water: 0 };
  private readonly mailbox: Mailbox;
  private readonly drainBatch: number;
  private readonly eagerTurns: boolean;
  private readonly now: () => number;
  private readonly onFatal: (error: Error) => void;
  private readonly onReads: (reads: readonly ReadConfirmation[]) => void;
  private readonly onInstall: (snapshot: HeldSnapshot) => void;
  private scheduled: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  /** Inside a turn, input needs no new turn: the turn applies its effects before it ends. */
  private inTurn = false;
  /**
   * The clock read at the start of a turn, and again every CLOCK_EVERY messages it drains: each
   * arrived before the turn began, so a reading is after its arrival (what a lease grant needs), and
   * one clock call per CLOCK_EVERY messages instead of per message (the call was 2% of a busy
   * leader's thread); the re-reading keeps timers and "heard" stamps within a fraction of a
   * millisecond even in a turn of thousands of messages.
   */
  private turnNow = 0;
  private drained = 0;
  private readonly handle = (from: number, raw: unknown): void => {
    if (++this.drained % CLOCK_EVERY === 0) this.turnNow = this.now();
    const msg = decode(raw);
    if (typeof msg === 'string') return this.malformed(`from replica ${from}: ${msg}`);
    this.replica.receive(from, msg, this.turnNow);
  };

  constructor(
    readonly id: NodeId,
    readonly replica: Replica,
    private readonly storage: Storage,
    private readonly transport: Transport,
    private readonly onDecisions: (decisions: readonly Decision[]) => void,
    opts: DriverOptions = {},
  ) {
    this.mailbox = new Mailbox(opts.mailboxCapacity ?? DEFAULT_MAILBOX_CAPACITY);
    this.drainBatch = opts.drainBatch ?? DEFAULT_DRAIN_BATCH;
    this.eagerTurns = opts.eagerTurns ?? true;
    this.now = opts.now ?? (() => performance.now());
    this.onReads = opts.onReads ?? (() => {});
    this.onFatal =
      opts.onFatal ??
      ((e) => {
        throw e;
      });
    this.onInstall = opts.onInstall ?? ((s) => this.replica.snapshotRefused(s.index));
    transport.setReceiver((from, batch) => this.deliver(from, batch));
    // The replica may have effects from start (timers); run one turn to arm them.
    this.schedule();
  }

  /** An envelope from a peer (see transport.ts): each tuple goes to the mailbox; decoding happens in the turn. */
  deliver(from: NodeId, envelope: unknown): void {
    if (this.stopped) return;
    const bad = forEachTuple(envelope, (tuple) => {
      if (!this.mailbox.push(from, tuple)) this.stats.mailbox_drops++;
    });
    if (bad !== null) this.malformed(`from replica ${from}: ${bad}`);
    if (this.mailbox.size > this.stats.mailbox_high_water) this.stats.mailbox_high_water = this.mailbox.size;
    // An envelope is already a batch: when no turn is pending, run it now instead of one event-loop
    // iteration later (a setImmediate per hop showed in the latency of two-phase Paxos: 4 hops per slot).
    if (this.eagerTurns && this.scheduled === null && !this.inTurn) this.turn();
    else this.schedule();
  }

  /** An array of tuples, as if a peer had sent them one by one (tests inject junk here; each element is checked). */
  deliverTuples(from: NodeId, batch: unknown): void {
    if (this.stopped) return;
    if (!Array.isArray(batch)) {
      this.malformed(`from replica ${from}: batch is not an array`);
      return;
    }
    for (const raw of batch) {
      if (!this.mailbox.push(from, raw)) this.stats.mailbox_drops++;
    }
    if (this.mailbox.size > this.stats.mailbox_high_water) this.stats.mailbox_high_water = this.mailbox.size;
    this.schedule();
  }

  /** A client value for this replica to propose. False: its queue is full (overload). */
  propose(value: string): boolean {
    if (this.stopped) return false;
    const ok = this.replica.propose(value, this.now());
    this.schedule();
    return ok;
  }

  /** Runs a turn now (or soon, inside one): input given to the replica directly (reads) has effects to apply. */
  wake(): void {
    if (this.eagerTurns && this.scheduled === null && !this.inTurn && !this.stopped) this.turn();
    else this.schedule();
  }

  /** Asks replica `to` to propose `value` itself (sent with this turn's batch). */
  forward(to: NodeId, value: string): void {
    if (this.stopped) return;
    this.transport.send(to, encode({ t: MsgType.Submit, value }));
    this.schedule();
  }

  private malformed(reason: string): void {
    this.stats.malformed++;
    if (this.stats.malformed_reason === null) {
      this.stats.malformed_reason = reason;
      console.warn(`synod replica ${this.id}: dropped a malformed message (${reason}); further ones are only counted`);
    }
  }

  private schedule(): void {
    if (this.scheduled === null && !this.stopped && !this.inTurn) this.scheduled = setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    this.scheduled = null;
    if (this.stopped) return;
    this.stats.turns++;
    this.inTurn = true;
    let more: boolean;
    try {
      this.turnNow = this.now();
      this.mailbox.drain(this.drainBatch, this.handle);
      const now = this.now();
      if (this.replica.nextDeadline() <= now) this.replica.tick(now);
      more = this.applyReady();
    } finally {
      this.inTurn = false;
    }
    if (this.stopped) return;
    if (more || this.mailbox.size > 0) this.schedule();
    this.armTimer();
  };

  /** Returns true when effects are left for another turn (the round bound was hit). */
  private applyReady(): boolean {
    // Decisions may propose again (a closed-loop client): apply those effects in the same turn, so
    // they leave with this turn's batch instead of a turn later. Each round persists before its sends.
    for (let round = 0; round < READY_ROUNDS_MAX; round++) {
      this.replica.endTurn(this.now());
      const ready = this.replica.takeReady();
      if (isEmptyReady(ready)) {
        this.transport.flush();
        return false;
      }
      // A failed persist has stopped the driver: nothing of this round is sent or published.
      if (!applyReady(this.id, ready, this.sink)) return false;
    }
    this.transport.flush();
    return true;
  }

  /** Where this driver's Readies go: the storage, the transport (a broadcast is encoded once), the decision hook. */
  private readonly sink: ReadySink = {
    persist: (records) => this.persist(records),
    send: (to, msg) => {
      if (msg !== this.lastSent) {
        this.lastSent = msg;
        this.lastWire = encode(msg);
      }
      this.transport.send(to, this.lastWire);
    },
    decided: (decisions) => this.onDecisions(decisions),
    reads: (reads) => this.onReads(reads),
    install: (snapshot) => this.onInstall(snapshot),
  };
  private lastSent: Message | null = null;
  private lastWire: Wire = [];

  /** False when the storage failed: the driver has stopped, and this round's messages and decisions are dropped. */
  private persist(records: readonly PersistRecord[]): boolean {
    try {
      this.storage.append(records);
      return true;
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
      return false;
    }
  }

  /** The storage failed (here or in a snapshot's write): stops for good and reports it. */
  fail(e: Error): void {
    if (this.stopped) return;
    this.close();
    this.onFatal(e);
  }

  /**
   * One timer per replica. It is re-armed only when the deadline moves
   * EARLIER than the armed one: a later deadline (the usual case, as the
   * oldest slot in flight is decided every turn) keeps the armed timer, which
   * then fires a little early, runs a turn that ticks nothing, and is re-armed
   * at the true deadline. That saves a clearTimeout/setTimeout pair per turn.
   */
  private armTimer(): void {
    const at = this.replica.nextDeadline();
    if (at >= this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(this.onTimer, Math.max(0, at - this.now()));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.schedule();
  };

  // ---- snapshots (src/runtime/snapshots.ts): the core hears of them here, and a turn applies what follows ----

  get closed(): boolean {
    return this.stopped;
  }

  snapshotTaken(s: HeldSnapshot): void {
    if (this.stopped) return;
    this.replica.snapshotTaken(s);
    this.schedule();
  }

  snapshotInstalled(s: HeldSnapshot, holds: (command: string) => boolean): void {
    if (this.stopped) return;
    this.replica.snapshotInstalled(s, this.now(), holds);
    this.schedule();
  }

  snapshotRefused(index: number): void {
    if (this.stopped) return;
    this.replica.snapshotRefused(index);
  }

  transportStats(): TransportStats {
    return this.transport.stats;
  }

  /** Stops for good (idempotent): no more turns, timers, sends or appends. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    if (this.timer !== null) clearTimeout(this.timer);
    this.scheduled = null;
    this.timer = null;
    this.transport.close();
    this.storage.close();
  }
}
