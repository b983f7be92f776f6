/**
 * What every role of one replica shares: its identity and configuration, its
 * acceptor and learner, the ballot round it persisted, its effect buffer, and
 * the sends (self-addressed ones are queued for handling in the same step).
 * The roles (per-slot proposer, stable leader) are written against this.
 */
import { Acceptor } from './acceptor.js';
import { NO_BALLOT, makeBallot, nextBallot, roundOf, type Ballot, type NodeId } from './ballot.js';
import { Learner } from './learner.js';
import type { Message, Slot, Value } from './messages.js';
import type { ContentionPolicy } from './policy.js';
import { Effects } from './ready.js';
import type { PersistRecord } from './storage-records.js';
import type { ProposerRole } from './role.js';

/** Test-only switches that plant known bugs, so tests can prove the checkers catch them. */
export interface PlantedBugs {
  quorumOneTooSmall?: boolean;
  acceptBelowPromise?: boolean;
  proposeArbitraryValue?: boolean;
  reuseBallotAfterRestart?: boolean;
  skipPersistPromise?: boolean;
  /** Lease reads: a grant not bound to a ballot at least the grantor's promise, and counted whatever ballot it echoes. */
  leaseIgnoresBallot?: boolean;
  /** Lease reads: served while still preparing (before phase 1 completed). */
  leaseReadWhileNotLeading?: boolean;
  /** Lease reads: served as soon as the node leads, before it decided what its phase 1 recovered. */
  leaseReadBeforeRecovered?: boolean;
  /** Answer a per-slot prepare below the forgotten mark with a promise and no vote (instead of refusing it). */
  promiseForgotten?: boolean;
}

export interface ReplicaStats {
  proposals: number;
  decisions: number;
  ballotsStarted: number;
  nacks: number;
  timeouts: number;
  phase1Retries: number;
  leaderChanges: number;
  leaseExpiries: number;
  /** Slots this replica started Paxos on to fill a hole nobody else filled. */
  holesFilled: number;
  forwarded: number;
  staleMessages: number;
  conflictingDecides: number;
  messagesIn: number;
  messagesOut: number;
  /** Prepares and accepts for slots below the forgotten mark: refused (never answered "no vote"). */
  refusedForgotten: number;
  snapshotChunksSent: number;
  snapshotChunksReceived: number;
  /** Snapshots received from peers and installed. */
  snapshotsInstalled: number;
  /** Snapshot transfers given up after every peer was asked with no chunk back. */
  snapshotTransfersAbandoned: number;
}

export const STAT_KEYS: ReadonlyArray<keyof ReplicaStats> = [
  'proposals', 'decisions', 'ballotsStarted', 'nacks', 'timeouts', 'phase1Retries', 'leaderChanges',
  'leaseExpiries', 'holesFilled', 'forwarded', 'staleMessages', 'conflictingDecides', 'messagesIn', 'messagesOut',
  'refusedForgotten', 'snapshotChunksSent', 'snapshotChunksReceived', 'snapshotsInstalled', 'snapshotTransfersAbandoned',
];

export function emptyStats(): ReplicaStats {
  const s = {} as ReplicaStats;
  for (const k of STAT_KEYS) s[k] = 0;
  return s;
}

/** The node's configuration after defaults (plain data). */
export interface NodeConfig {
  readonly id: NodeId;
  /** Nodes in the cluster: ids 0 .. nodes - 1. */
  readonly nodes: number;
  /** Nodes 0 .. acceptors - 1 vote; the others only propose and learn. */
  readonly acceptors: number;
  readonly quorum: number;
  readonly attemptTimeout_ms: number;
  readonly sync_ms: number;
  readonly holeGrace_ms: number;
  readonly maxPending: number;
  /** A stable leader packs up to this many commands into one slot (1: no batching). */
  readonly batchMax: number;
  /** ... and waits up to this long for a batch to fill before it sends a partial one. */
  readonly batchDelay_ms: number;
  /** The driver takes snapshots (and installs them): the learner keeps every slot from the latest one. */
  readonly snapshots: boolean;
  /** Characters per snapshot chunk sent to a peer. */
  readonly snapshotChunk_chars: number;
  readonly bugs: PlantedBugs;
}

/** Durable-ish proposer state shared by the roles: the round record and the highest ballot seen. */
export interface BallotState {
  round: number;
  highestSeen: Ballot;
}

export class Node {
  readonly stats: ReplicaStats = emptyStats();
  readonly effects = new Effects();
  readonly ballots: BallotState = { round: 0, highestSeen: NO_BALLOT };
  /** Messages to ourselves, handled after the input that caused them, in the same step. */
  readonly loopback: Message[] = [];
  /** Null on a proposer-only node. */
  readonly acceptor: Acceptor | null;
  readonly learner: Learner;
  /**
   * The proposer role, set once by the replica right after it makes the role.
   * Roles reach the learner through `learn` here (an object reference, never a
   * closure, so the model checker's deep copy keeps a copied role wired to its
   * copied node).
   */
  role!: ProposerRole;

  constructor(
    readonly cfg: NodeConfig,
    readonly policy: ContentionPolicy,
    readonly random: () => number,
    retainDecided: number,
    retainDecided_chars: number,
  ) {
    this.acceptor = cfg.id < cfg.acceptors ? new Acceptor({ acceptBelowPromise: cfg.bugs.acceptBelowPromise ?? false }) : null;
    this.learner = new Learner(retainDecided, cfg.snapshots, retainDecided_chars);
  }

  get id(): NodeId {
    return this.cfg.id;
  }

  /** `value` is chosen in `slot` (learned by any route): record it, let the role release the slot, publish. */
  learn(slot: Slot, value: Value, now: number): void {
    const { learner, stats, acceptor } = this;
    const known = learner.get(slot);
    if (known !== undefined) {
      if (known !== value) stats.conflictingDecides++;
      return;
    }
    if (!learner.learn(slot, value)) return void stats.staleMessages++;
    stats.decisions++;
    acceptor?.forgetBelow(learner.forgottenBelow);
    const ballots = this.role.learned(slot, value, now);
    this.effects.decisions.push({ slot, value, ballots });
    this.role.pump(now);
  }

  see(b: Ballot): void {
    if (b > this.ballots.highestSeen) this.ballots.highestSeen = b;
  }

  /** A ballot of ours above every ballot seen; its round is persisted before any message carries it. */
  newBallot(): Ballot {
    const st = this.ballots;
    const floor = st.round > 0 ? Math.max(st.highestSeen, makeBallot(st.round, this.id)) : st.highestSeen;
    const b = nextBallot(this.id, floor);
    st.round = roundOf(b);
    this.stats.ballotsStarted++;
    if (!this.cfg.bugs.reuseBallotAfterRestart) this.persist({ k: 'round', round: st.round });
    return b;
  }

  persist(r: PersistRecord): void {
    this.effects.persist.push(r);
  }

  send(to: NodeId, msg: Message): void {
    this.effects.messages.push({ to, msg });
    if (to === this.id) {
      this.loopback.push(msg);
      return;
    }
    this.stats.messagesOut++;
  }

  /** To every acceptor (ourselves included when we are one): phase 1 and 2, lease requests. */
  toAcceptors(msg: Message): void {
    for (let to = 0; to < this.cfg.acceptors; to++) this.send(to, msg);
  }

  /** To every node but ourselves: decisions, commits, heartbeats. */
  toOthers(msg: Message): void {
    for (let to = 0; to < this.cfg.nodes; to++) if (to !== this.id) this.send(to, msg);
  }
}
