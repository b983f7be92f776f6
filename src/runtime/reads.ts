/**
 * Reads, served by one replica host from its state machine. What each
 * consistency promises is in the README ("Reads"); the core decides when a
 * read may be answered (src/paxos/leader.ts), this module keeps the reads
 * until then and answers them:
 *
 * - stale: at once, from whatever this replica has applied, with that index.
 * - linearizable, stable leader: a read-index round. The read takes a ticket;
 *   when the round confirms it (a quorum still accepts the leader's ballot),
 *   it waits until the slots below the round's index are applied, then queries.
 *   A node that does not lead answers NotLeader with the leader it believes in.
 * - linearizable, per-slot policies (no leader to ask): through the log. A
 *   read barrier (a command that changes nothing) is proposed; when it is
 *   applied, every slot before it is, and the query runs at exactly that point.
 * - lease (policy `lease` only): with no message while the core says its lease
 *   allows (leaseReadIndex), once the slots below that index are applied; the
 *   lease is checked again right before the query. A leader whose lease does
 *   not allow it now falls back to a read-index round.
 *
 * Every waiting read is bounded by `maxWaiting` (Overload beyond it).
 */
import type { NodeId } from '../paxos/ballot.js';
import type { ReadConfirmation, Replica } from '../paxos/replica.js';
import { Op, READ_BARRIER_PREFIX, Reply, joinValue, type ReplyCode } from './client-wire.js';
import type { StateMachineRunner } from './state-machine.js';

export interface ReadStats {
  stale: number;
  linearizable: number;
  lease: number;
  /** Lease reads the lease did not cover (not yet, or no more, right before the query): served by a read-index round instead. */
  lease_fallbacks: number;
  /** Linearizable reads served through the log (per-slot policies). */
  through_log: number;
  not_leader: number;
  refused: number;
  overloads: number;
}

/** What the read server needs from its host. */
export interface ReadHost {
  readonly id: NodeId;
  readonly replica: Replica;
  readonly machine: StateMachineRunner;
  /** Every slot below this is applied. */
  applied(): number;
  reply(code: ReplyCode, id: string, n: number, text: string): void;
  propose(value: string): boolean;
  /** Runs a turn soon (a ticket's round starts at the end of a turn). */
  wake(): void;
  now(): number;
}

interface Waiting {
  id: string;
  query: string;
  /** Linearizable: the ticket of the round that confirms it. Applying: the index to reach. */
  n: number;
  lease: boolean;
}

export class ReadServer {
  readonly stats: ReadStats = { stale: 0, linearizable: 0, lease: 0, lease_fallbacks: 0, through_log: 0, not_leader: 0, refused: 0, overloads: 0 };
  /** Waiting for their round, in ticket order. */
  private rounds: Waiting[] = [];
  /** Waiting for the slots below `n` to be applied. */
  private applying: Waiting[] = [];
  private applyingMin = Number.POSITIVE_INFINITY;
  /** Reads through the log, by request id (the barrier's id without its prefix). */
  private readonly barriers = new Map<string, string>();

  constructor(private readonly host: ReadHost, private readonly maxWaiting: number) {}

  get waiting(): number {
    return this.rounds.length + this.applying.length + this.barriers.size;
  }

  read(op: number, id: string, query: string): void {
    if (op === Op.ReadStale) return this.answer(id, query, 'stale');
    if (this.waiting >= this.maxWaiting) {
      this.stats.overloads++;
      return this.host.reply(Reply.Overload, id, -1, '');
    }
    const replica = this.host.replica;
    if (op === Op.ReadLease) {
      if ((replica.leader?.holder ?? null) === null) return this.refuse(id, "lease reads need policy 'lease'");
      return this.leaseRead(id, query);
    }
    if (replica.leader === null) return this.throughLog(id, query);
    this.readIndex(id, query);
  }

  private refuse(id: string, why: string): void {
    this.stats.refused++;
    this.host.reply(Reply.Refused, id, -1, why);
  }

  private notLeader(id: string): void {
    this.stats.not_leader++;
    this.host.reply(Reply.NotLeader, id, this.host.replica.leaderHint(this.host.now()), '');
  }

  private answer(id: string, query: string, kind: 'stale' | 'linearizable' | 'lease'): void {
    this.stats[kind]++;
    this.host.reply(Reply.Read, id, this.host.applied(), this.host.machine.query(query));
  }

  private readIndex(id: string, query: string): void {
    const ticket = this.host.replica.readTicket();
    if (ticket < 0) return this.notLeader(id);
    this.rounds.push({ id, query, n: ticket, lease: false });
    this.host.wake();
  }

  /** The common case allocates nothing: the lease covers the read and the slots are applied, so it is answered here and now. */
  private leaseRead(id: string, query: string): void {
    const index = this.host.replica.leaseReadIndex(this.host.now());
    if (index < 0) {
      // Not covered by a lease now (recovering, renewing, or not the leader): a leader still answers, by a round.
      this.stats.lease_fallbacks++;
      return this.readIndex(id, query);
    }
    if (this.host.applied() >= index) return this.answer(id, query, 'lease');
    this.wait({ id, query, n: index, lease: true });
  }

  private throughLog(id: string, query: string): void {
    if (!this.host.propose(joinValue(READ_BARRIER_PREFIX + id, ''))) {
      this.stats.overloads++;
      return this.host.reply(Reply.Overload, id, -1, '');
    }
    this.barriers.set(id, query);
  }

  private wait(w: Waiting): void {
    this.applying.push(w);
    if (w.n < this.applyingMin) this.applyingMin = w.n;
  }

  /** Read-index rounds ended (the driver's Ready): confirmed reads wait for their index; failed ones go to the leader. */
  confirmed(reads: readonly ReadConfirmation[]): void {
    for (const c of reads) {
      let k = 0;
      while (k < this.rounds.length && (this.rounds[k] as Waiting).n <= c.seq) k++;
      const done = this.rounds.slice(0, k);
      this.rounds = this.rounds.slice(k);
      for (const w of done) {
        if (c.index < 0) this.notLeader(w.id);
        else this.wait({ ...w, n: c.index });
      }
    }
    this.progress();
  }

  /** More slots are applied: answer the reads they complete. */
  progress(): void {
    const applied = this.host.applied();
    if (applied < this.applyingMin) return;
    const ready = this.applying.filter((w) => w.n <= applied);
    this.applying = this.applying.filter((w) => w.n > applied);
    this.applyingMin = this.applying.reduce((m, w) => Math.min(m, w.n), Number.POSITIVE_INFINITY);
    for (const w of ready) {
      if (!w.lease) this.answer(w.id, w.query, 'linearizable');
      // The lease is checked again right before the query: it may have run out while the slots were applied.
      else if (this.host.replica.leaseReadIndex(this.host.now()) >= 0) this.answer(w.id, w.query, 'lease');
      else {
        this.stats.lease_fallbacks++;
        this.readIndex(w.id, w.query);
      }
    }
  }

  /** A read barrier was applied in `slot` (on every replica; only the one that proposed it has the read). */
  barrier(_slot: number, requestId: string): void {
    const id = requestId.slice(READ_BARRIER_PREFIX.length);
    const query = this.barriers.get(id);
    if (query === undefined) return;
    this.barriers.delete(id);
    this.stats.through_log++;
    this.answer(id, query, 'linearizable');
  }
}
