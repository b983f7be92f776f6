/**
 * The ballot timeline's data: who held which ballot when, per slot, recorded
 * from what a driver sees (each message a replica sends, each delivery, each
 * decision a replica learns), in the driver's own time (the simulator's
 * virtual ms, a real run's ms, or a scripted test's step count). The same
 * recorder serves the simulator (`--timeline`), a sweep report's chosen point,
 * the benchmark's short real run and the scripted scenarios' tests;
 * timeline-svg.ts draws it.
 *
 * Events, each at one node:
 * - `prepare`: a proposer sends Prepare(slot, ballot) (a broadcast is one event);
 * - `hear`: an acceptor receives that Prepare;
 * - `promise`: an acceptor promises the ballot to its proposer;
 * - `promises`: the proposer has counted `count` promises for its ballot (of `quorum` needed);
 * - `nack`: an acceptor rejects a ballot, having promised `rival`;
 * - `preempted`: the proposer receives its first rejection of the ballot (by `rival`);
 * - `accept`: the proposer sends Accept(slot, ballot, value): it had a quorum of promises;
 * - `accepted`: an acceptor votes for the ballot;
 * - `decide`: the proposer sends Decide(slot, value);
 * - `learn`: a replica learns the slot's value.
 */
import type { Ballot, NodeId } from '../paxos/ballot.js';
import { MsgType, type Message, type Slot, type Value } from '../paxos/messages.js';
import type { Decision } from '../paxos/ready.js';

export const TIMELINE_KINDS = ['prepare', 'hear', 'promise', 'promises', 'nack', 'preempted', 'accept', 'accepted', 'decide', 'learn'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineEvent {
  at: number;
  node: NodeId;
  kind: TimelineKind;
  slot: Slot;
  /** The ballot the event is about (0 for decide and learn). */
  ballot: Ballot;
  /** The other node: the proposer a promise goes to, the acceptor a prepare came from. */
  peer?: NodeId;
  /** nack, preempted: the ballot the acceptor had promised. */
  rival?: Ballot;
  /** promises: how many so far. */
  count?: number;
  value?: Value;
}

/** A message's trip, for the arrows. */
export interface Delivery {
  from: NodeId;
  to: NodeId;
  sent: number;
  received: number;
  t: MsgType;
  ballot: Ballot;
}

export interface TimelineData {
  nodes: number;
  acceptors: number;
  quorum: number;
  /** What `at` counts: 'ms' (virtual or real) or 'step'. */
  unit: 'ms' | 'step';
  events: TimelineEvent[];
  deliveries: Delivery[];
  /** Recording stopped at this time (the event bound was reached); null: everything is here. */
  truncatedAt: number | null;
}

/** Messages whose trips the timeline draws (the protocol's, not heartbeats or anti-entropy). */
const DRAWN = new Set<number>([MsgType.Prepare, MsgType.Promise, MsgType.Accept, MsgType.Accepted, MsgType.Nack, MsgType.Decide]);

export const TIMELINE_EVENTS_MAX = 50_000;

function ballotOf(msg: Message): Ballot {
  return 'ballot' in msg ? msg.ballot : 0;
}

export class BallotRecorder {
  readonly events: TimelineEvent[] = [];
  readonly deliveries: Delivery[] = [];
  private truncatedAt: number | null = null;
  /** The last broadcast seen (a broadcast hands every copy the same message object). */
  private lastBroadcast: Message | null = null;
  /** Sent time of each message object in flight (copies of a broadcast share one). */
  private readonly sentAt = new WeakMap<Message, number>();
  /** proposer:slot:ballot -> promises counted, and ballots already pre-empted. */
  private readonly promises = new Map<string, number>();
  private readonly preempted = new Set<string>();

  constructor(
    readonly nodes: number,
    readonly acceptors: number,
    readonly quorum: number,
    readonly unit: 'ms' | 'step' = 'ms',
    private readonly max = TIMELINE_EVENTS_MAX,
  ) {}

  private push(e: TimelineEvent): void {
    if (this.truncatedAt !== null) return;
    if (this.events.length >= this.max) {
      this.truncatedAt = e.at;
      return;
    }
    this.events.push(e);
  }

  /** `copy` (a decoded copy a receiver gets) is the message `original` that was sent: it shares its sent time. */
  sameMessage(copy: Message, original: Message): void {
    const at = this.sentAt.get(original);
    if (at !== undefined) this.sentAt.set(copy, at);
  }

  /** `from` sends `msg` to `to` (every copy of a broadcast, self-addressed ones included). */
  sent(at: number, from: NodeId, to: NodeId, msg: Message): void {
    this.sentAt.set(msg, at);
    const first = msg !== this.lastBroadcast;
    this.lastBroadcast = msg;
    switch (msg.t) {
      case MsgType.Prepare:
        if (first) this.push({ at, node: from, kind: 'prepare', slot: msg.slot, ballot: msg.ballot });
        break;
      case MsgType.Promise:
        this.push({ at, node: from, kind: 'promise', slot: msg.slot, ballot: msg.ballot, peer: to });
        break;
      case MsgType.Nack:
        this.push({ at, node: from, kind: 'nack', slot: msg.slot, ballot: msg.ballot, rival: msg.promised, peer: to });
        break;
      case MsgType.Accept:
        if (first) this.push({ at, node: from, kind: 'accept', slot: msg.slot, ballot: msg.ballot, value: msg.value });
        break;
      case MsgType.Accepted:
        this.push({ at, node: from, kind: 'accepted', slot: msg.slot, ballot: msg.ballot, peer: to });
        break;
      case MsgType.Decide:
        if (first) this.push({ at, node: from, kind: 'decide', slot: msg.slot, ballot: 0, value: msg.value });
        break;
      default:
        break;
    }
    // The core handles a message to itself in the same step: it arrives as it is sent.
    if (to === from) this.received(at, from, to, msg);
  }

  /** `to` handles `msg` from `from`. */
  received(at: number, from: NodeId, to: NodeId, msg: Message): void {
    const sent = this.sentAt.get(msg) ?? at;
    if (DRAWN.has(msg.t) && from !== to && this.truncatedAt === null) this.deliveries.push({ from, to, sent, received: at, t: msg.t, ballot: ballotOf(msg) });
    if (msg.t === MsgType.Prepare) {
      this.push({ at, node: to, kind: 'hear', slot: msg.slot, ballot: msg.ballot, peer: from });
    } else if (msg.t === MsgType.Promise) {
      const key = `${to}:${msg.slot}:${msg.ballot}`;
      const count = (this.promises.get(key) ?? 0) + 1;
      this.promises.set(key, count);
      this.push({ at, node: to, kind: 'promises', slot: msg.slot, ballot: msg.ballot, count, peer: from });
    } else if (msg.t === MsgType.Nack) {
      const key = `${to}:${msg.slot}:${msg.ballot}`;
      if (this.preempted.has(key)) return;
      this.preempted.add(key);
      this.push({ at, node: to, kind: 'preempted', slot: msg.slot, ballot: msg.ballot, rival: msg.promised, peer: from });
    }
  }

  learned(at: number, node: NodeId, decisions: readonly Decision[]): void {
    for (const d of decisions) this.push({ at, node, kind: 'learn', slot: d.slot, ballot: 0, value: d.value });
  }

  data(): TimelineData {
    return {
      nodes: this.nodes, acceptors: this.acceptors, quorum: this.quorum, unit: this.unit,
      events: [...this.events], deliveries: [...this.deliveries], truncatedAt: this.truncatedAt,
    };
  }
}
