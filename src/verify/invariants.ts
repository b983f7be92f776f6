/**
 * Paxos safety invariants, checked against ghost state: everything every node
 * ever sent, persisted and learned. Drivers (the simulator, the model checker,
 * chaos runs) report each event as it happens; a violation is recorded with a
 * one-line reason, never thrown, so a run can report all it found.
 *
 * Invariants:
 * - promise-monotonic:  an acceptor's promises in a slot never decrease, also across restarts (the same ballot may be promised again).
 * - accept-at-promise:  an acceptor accepts only at or above its promise.
 * - one-value-per-ballot: all accepts for (slot, ballot) carry one value, from the ballot's owner.
 * - votes-real:         a promise reports the sender's real, highest earlier vote (and hides none).
 * - agreement:          at most one value is chosen per slot (by a true majority), and it never changes.
 * - validity:           only proposed values (or the leader's no-op, or a batch of proposed commands) are chosen.
 * - learned-chosen:     a replica learns only the value chosen in that slot (so all learned logs agree).
 * - persist-before-send: a promise, a vote or an own ballot is durable before a message shows it.
 * - ballot-monotonic:   a node's prepares never go down, and never reuse a ballot from before a restart.
 * - only-acceptors-vote: a proposer-only node (id >= acceptors) never promises or accepts.
 * - forgotten-refused:  below its snapshot a node never promises in a slot or accepts, and an open promise
 *                       covers only from there (answering "no vote" there could let a chosen value be overwritten).
 * - lease-read (drivers that report lease readers, `checkLeaseReads`): while a node could
 *   answer a lease read at ballot b, no slot is first chosen at a ballot other than b; and
 *   a node that would answer one now has applied every slot any replica has learned.
 */
import { Acceptor } from '../paxos/acceptor.js';
import { nodeOf, roundOf, type Ballot, type NodeId } from '../paxos/ballot.js';
import { MsgType, NOOP, type Message, type Slot, type Value, type Vote } from '../paxos/messages.js';
import { commandsOf, isBatch } from '../paxos/batch.js';
import { majority } from '../paxos/quorum.js';
import type { PersistRecord } from '../paxos/storage-records.js';

export interface Violation {
  invariant: string;
  detail: string;
}

/** What the checker needs to read of a live replica after it restarts. */
export interface AcceptorView {
  promisedIn(slot: Slot): Ballot;
  voteIn(slot: Slot): Vote | null;
  /** Slots below this are forgotten (decided, in a snapshot) and refused: their promises and votes are gone on purpose. */
  readonly forgottenBelow?: Slot;
}

const ANY_SLOT = Number.MAX_SAFE_INTEGER;

interface NodeGhost {
  /** Highest promise shown per slot (by a promise or an accepted), and for all slots (open promises). */
  promised: Map<Slot, Ballot>;
  floor: Ballot;
  /** Every vote shown, by slot then ballot. */
  votes: Map<Slot, Map<Ballot, Value>>;
  maxVote: Map<Slot, Ballot>;
  /** The durable state, rebuilt from the records the node persisted. */
  durable: Acceptor;
  durableRound: number;
  /** Highest ballot this node prepared, and the highest it had prepared before its last restart. */
  maxPrepared: Ballot;
  retired: Ballot;
  /** The node's latest snapshot (taken, installed or restored): below it it refuses every slot. */
  snapshot: Slot;
}

/** A node that could answer a lease read now (src/paxos/leader.ts, leaseReadIndex). */
export interface LeaseReader {
  node: NodeId;
  /** The ballot it leads at, to which its lease is bound. */
  ballot: Ballot;
  /** Its read index: it answers once every slot below this is applied. */
  index: Slot;
  /** Slots applied: every slot below this (its first undecided slot). */
  applied: Slot;
}

/** The message types whose sending `SafetyChecker.sent` records; it ignores every other (the model checker skips those). */
export const RECORDED_SENDS: ReadonlySet<MsgType> = new Set([
  MsgType.Prepare, MsgType.Accept, MsgType.Promise, MsgType.Accepted, MsgType.Commit, MsgType.Decide,
]);

export class SafetyChecker {
  readonly violations: Violation[] = [];
  private readonly nodes: NodeGhost[];
  private readonly quorum: number;
  private readonly acceptValue = new Map<Slot, Map<Ballot, Value>>();
  private readonly acceptors = new Map<Slot, Map<Ballot, Set<NodeId>>>();
  private readonly chosen = new Map<Slot, Value>();
  private readonly learned = new Map<Slot, Value>();
  private readonly proposed = new Set<Value>();
  /** Slots first chosen since the last checkLeaseReads, with the ballot (kept only for a driver that checks lease reads). */
  private readonly newlyChosen: Array<{ slot: Slot; ballot: Ballot }> = [];
  private readonly trackChosen: boolean;
  private highestLearned: Slot = -1;
  /** Stop recording after this many, so a broken run cannot exhaust memory. */
  private readonly maxViolations: number;

  /** Off only in tests that show the other invariants also catch a durability bug, through its effects. */
  private readonly checkPersistence: boolean;

  /** Nodes 0 .. acceptors - 1 vote; the others (proposer-only nodes) must never promise or accept. */
  private readonly acceptorCount: number;

  constructor(nodeCount: number, opts: { maxViolations?: number; checkPersistence?: boolean; acceptors?: number; leaseReads?: boolean } = {}) {
    this.acceptorCount = opts.acceptors ?? nodeCount;
    this.trackChosen = opts.leaseReads ?? false;
    this.quorum = majority(this.acceptorCount);
    this.maxViolations = opts.maxViolations ?? 100;
    this.checkPersistence = opts.checkPersistence ?? true;
    this.nodes = Array.from({ length: nodeCount }, () => ({
      promised: new Map<Slot, Ballot>(),
      floor: 0,
      votes: new Map<Slot, Map<Ballot, Value>>(),
      maxVote: new Map<Slot, Ballot>(),
      durable: new Acceptor(),
      durableRound: 0,
      maxPrepared: 0,
      retired: 0,
      snapshot: 0,
    }));
  }

  get ok(): boolean {
    return this.violations.length === 0;
  }

  get chosenCount(): number {
    return this.chosen.size;
  }

  chosenIn(slot: Slot): Value | undefined {
    return this.chosen.get(slot);
  }

  /** The highest slot with a chosen value, or -1. */
  get highestChosen(): Slot {
    let max = -1;
    for (const s of this.chosen.keys()) if (s > max) max = s;
    return max;
  }

  isChosenValue(value: Value): boolean {
    for (const v of this.chosen.values()) if (v === value) return true;
    return false;
  }

  /** Records a violation (also used by drivers for invariants they check themselves, such as leases). */
  report(invariant: string, detail: string): void {
    if (invariant === 'persist-before-send' && !this.checkPersistence) return;
    if (this.violations.length < this.maxViolations) this.violations.push({ invariant, detail });
  }

  proposedValue(value: Value): void {
    this.proposed.add(value);
  }

  /** A proposed value, or a leader's batch (src/paxos/batch.ts) of proposed commands. */
  private wasProposed(value: Value): boolean {
    if (this.proposed.has(value)) return true;
    const commands = isBatch(value) ? commandsOf(value) : null;
    return commands !== null && commands.every((c) => this.proposed.has(c));
  }

  /** Node `node` holds a durable snapshot at `index` (taken, installed or restored at start). */
  snapshotAt(node: NodeId, index: Slot): void {
    const g = this.ghost(node);
    if (index > g.snapshot) g.snapshot = index;
  }

  persisted(node: NodeId, r: PersistRecord): void {
    const g = this.ghost(node);
    if (r.k === 'round') g.durableRound = Math.max(g.durableRound, r.round);
    else g.durable.apply(r);
  }

  /** A message `from` sent (to any node, itself included). Call after the same step's records were persisted. */
  sent(from: NodeId, m: Message): void {
    if (!RECORDED_SENDS.has(m.t)) return;
    const g = this.ghost(from);
    switch (m.t) {
      case MsgType.Prepare:
        if (m.ballot < g.maxPrepared) this.report('ballot-monotonic', `n${from} prepared ${m.ballot} after ${g.maxPrepared}`);
        if (m.ballot <= g.retired) this.report('ballot-monotonic', `n${from} reused ballot ${m.ballot} from before its restart (had reached ${g.retired})`);
        if (m.ballot > g.maxPrepared) g.maxPrepared = m.ballot;
        return this.ownBallot(from, g, m.ballot, 'prepare');
      case MsgType.Accept:
        return this.onAcceptSent(from, g, m.slot, m.ballot, m.value);
      case MsgType.Promise:
        if (from >= this.acceptorCount) return this.report('only-acceptors-vote', `proposer-only n${from} sent a promise for ballot ${m.ballot}`);
        if (m.slot < g.snapshot) this.report('forgotten-refused', `n${from} promised ${m.ballot} ${m.open ? 'from' : 'in'} slot ${m.slot}, below its snapshot at ${g.snapshot}`);
        return this.onPromiseSent(from, g, m.slot, m.ballot, m.open, m.votes);
      case MsgType.Accepted:
        if (from >= this.acceptorCount) return this.report('only-acceptors-vote', `proposer-only n${from} accepted ballot ${m.ballot} in slot ${m.slot}`);
        if (m.slot < g.snapshot) this.report('forgotten-refused', `n${from} accepted ballot ${m.ballot} in slot ${m.slot}, below its snapshot at ${g.snapshot}`);
        return this.onAcceptedSent(from, g, m.slot, m.ballot);
      case MsgType.Commit:
        // "Every slot in [from, to) was chosen at `ballot`": followers learn their votes at that ballot from it.
        for (let slot = m.from; slot < m.to; slot++) {
          const atBallot = this.acceptValue.get(slot)?.get(m.ballot);
          const c = this.chosen.get(slot);
          if (atBallot === undefined || c !== atBallot) {
            this.report('learned-chosen', `n${from} committed slot ${slot} at ballot ${m.ballot} (value ${JSON.stringify(atBallot)}) but chosen is ${JSON.stringify(c)}`);
          }
        }
        return;
      case MsgType.Decide: {
        const c = this.chosen.get(m.slot);
        if (c !== m.value) this.report('learned-chosen', `n${from} announced slot ${m.slot} = ${JSON.stringify(m.value)} but chosen is ${JSON.stringify(c)}`);
        return;
      }
      default:
        return;
    }
  }

  /** A replica learned (decided) `value` in `slot`. */
  learnedBy(node: NodeId, slot: Slot, value: Value): void {
    const c = this.chosen.get(slot);
    if (c !== value) this.report('learned-chosen', `n${node} learned slot ${slot} = ${JSON.stringify(value)} but chosen is ${JSON.stringify(c)}`);
    const l = this.learned.get(slot);
    if (slot > this.highestLearned) this.highestLearned = slot;
    if (l === undefined) this.learned.set(slot, value);
    else if (l !== value) this.report('agreement', `slot ${slot}: n${node} learned ${JSON.stringify(value)}, another replica ${JSON.stringify(l)}`);
  }

  /**
   * lease-read, after each step (`at_ms`: when, for the report). `before` and
   * `after`: the nodes that could answer a lease read at the step's time,
   * before it and after it. A slot first chosen in the step at another ballot
   * than such a node's breaks the lease's promise (its reads could miss it); a
   * node that would answer now (`applied >= index`) must have applied every
   * slot some replica learned, or its read could miss an acknowledged write.
   */
  checkLeaseReads(before: readonly LeaseReader[], after: readonly LeaseReader[], at_ms: number): void {
    if (this.newlyChosen.length === 0 && after.length === 0) return;
    const at = `${at_ms.toFixed(3)} ms`;
    for (const c of this.newlyChosen) {
      for (const r of [...before, ...after]) {
        if (r.ballot !== c.ballot) this.report('lease-read', `slot ${c.slot} chosen at ballot ${c.ballot} at ${at} while n${r.node} could answer lease reads at ballot ${r.ballot}`);
      }
    }
    this.newlyChosen.length = 0;
    for (const r of after) {
      if (r.applied >= r.index && this.highestLearned >= r.applied) {
        this.report('lease-read', `n${r.node} would answer a lease read at ${at} with slots below ${r.applied} applied, but slot ${this.highestLearned} was learned already`);
      }
    }
  }

  /**
   * After a restart: the live acceptor must still hold every promise and vote
   * it ever showed, except below its forgotten mark, which must not be above
   * a snapshot it holds (there it refuses, forgotten-refused checks that).
   */
  recovered(node: NodeId, view: AcceptorView): void {
    const g = this.ghost(node);
    g.retired = g.maxPrepared;
    const mark = view.forgottenBelow ?? 0;
    if (mark > g.snapshot) this.report('forgotten-refused', `n${node} restarted forgetting every slot below ${mark}, past its latest snapshot at ${g.snapshot}`);
    if (view.promisedIn(ANY_SLOT) < g.floor) {
      this.report('promise-monotonic', `n${node} restarted with floor ${view.promisedIn(ANY_SLOT)} < ${g.floor} it promised`);
    }
    for (const [slot, b] of g.promised) {
      if (slot < mark) continue;
      if (view.promisedIn(slot) < b) this.report('promise-monotonic', `n${node} restarted promising ${view.promisedIn(slot)} in slot ${slot} after promising ${b}`);
    }
    for (const [slot, b] of g.maxVote) {
      if (slot < mark) continue;
      const v = view.voteIn(slot);
      if (v === null || v.ballot < b) this.report('votes-real', `n${node} restarted without its vote at ballot ${b} in slot ${slot}`);
    }
  }

  private ghost(node: NodeId): NodeGhost {
    const g = this.nodes[node];
    if (g === undefined) throw new RangeError(`no node ${node}`);
    return g;
  }

  private ownBallot(from: NodeId, g: NodeGhost, ballot: Ballot, what: string): void {
    if (nodeOf(ballot) !== from) this.report('one-value-per-ballot', `n${from} sent ${what} with ballot ${ballot} owned by n${nodeOf(ballot)}`);
    if (roundOf(ballot) > g.durableRound) {
      this.report('persist-before-send', `n${from} sent ${what} at round ${roundOf(ballot)} before persisting it (durable round ${g.durableRound})`);
    }
  }

  private onAcceptSent(from: NodeId, g: NodeGhost, slot: Slot, ballot: Ballot, value: Value): void {
    this.ownBallot(from, g, ballot, 'accept');
    let byBallot = this.acceptValue.get(slot);
    if (byBallot === undefined) this.acceptValue.set(slot, (byBallot = new Map()));
    const prev = byBallot.get(ballot);
    if (prev === undefined) byBallot.set(ballot, value);
    else if (prev !== value) {
      this.report('one-value-per-ballot', `slot ${slot} ballot ${ballot}: accepts for ${JSON.stringify(prev)} and ${JSON.stringify(value)}`);
    }
  }

  private promiseFloor(g: NodeGhost, slot: Slot): Ballot {
    const p = g.promised.get(slot) ?? 0;
    return p > g.floor ? p : g.floor;
  }

  private onPromiseSent(from: NodeId, g: NodeGhost, slot: Slot, ballot: Ballot, open: boolean, votes: Vote[]): void {
    if (!open) {
      const before = this.promiseFloor(g, slot);
      // Equal is the same promise again (a re-sent or duplicated prepare); below is a broken promise.
      if (ballot < before) this.report('promise-monotonic', `n${from} promised ${ballot} in slot ${slot} after ${before}`);
      if (g.durable.promisedIn(slot) < ballot) this.report('persist-before-send', `n${from} promised ${ballot} in slot ${slot} before persisting it`);
      g.promised.set(slot, Math.max(ballot, g.promised.get(slot) ?? 0));
      this.checkVotes(from, g, votes, slot, slot);
      return;
    }
    if (ballot < g.floor) this.report('promise-monotonic', `n${from} promised ${ballot} for all slots after ${g.floor}`);
    for (const [s, b] of g.promised) {
      if (s >= slot && ballot < b) this.report('promise-monotonic', `n${from} promised ${ballot} from slot ${slot} after ${b} in slot ${s}`);
    }
    if (g.durable.promisedIn(ANY_SLOT) < ballot) this.report('persist-before-send', `n${from} promised ${ballot} for all slots before persisting it`);
    g.floor = Math.max(g.floor, ballot);
    this.checkVotes(from, g, votes, slot, ANY_SLOT);
  }

  /** Reported votes must be real and each the sender's highest; no vote in [lo, hi] may be hidden. */
  private checkVotes(from: NodeId, g: NodeGhost, votes: Vote[], lo: Slot, hi: Slot): void {
    const reported = new Set<Slot>();
    for (const v of votes) {
      reported.add(v.slot);
      const real = g.votes.get(v.slot)?.get(v.ballot);
      if (real !== v.value) this.report('votes-real', `n${from} reported vote ${JSON.stringify(v.value)}@${v.ballot} in slot ${v.slot} it never cast`);
      const max = g.maxVote.get(v.slot) ?? 0;
      if (v.ballot !== max) this.report('votes-real', `n${from} reported vote at ${v.ballot} in slot ${v.slot} but voted at ${max}`);
    }
    for (const [s, b] of g.maxVote) {
      if (s >= lo && s <= hi && !reported.has(s)) this.report('votes-real', `n${from} hid its vote at ${b} in slot ${s}`);
    }
  }

  private onAcceptedSent(from: NodeId, g: NodeGhost, slot: Slot, ballot: Ballot): void {
    const promised = this.promiseFloor(g, slot);
    if (ballot < promised) this.report('accept-at-promise', `n${from} accepted ${ballot} in slot ${slot} after promising ${promised}`);
    const value = this.acceptValue.get(slot)?.get(ballot);
    if (value === undefined) {
      this.report('one-value-per-ballot', `n${from} accepted ballot ${ballot} in slot ${slot} that no accept carried`);
      return;
    }
    const dv = g.durable.vote(slot);
    if (dv === null || dv.ballot < ballot) this.report('persist-before-send', `n${from} showed its vote at ${ballot} in slot ${slot} before persisting it`);
    if (ballot > (g.promised.get(slot) ?? 0)) g.promised.set(slot, ballot);
    let votes = g.votes.get(slot);
    if (votes === undefined) g.votes.set(slot, (votes = new Map()));
    votes.set(ballot, value);
    if (ballot > (g.maxVote.get(slot) ?? 0)) g.maxVote.set(slot, ballot);

    let byBallot = this.acceptors.get(slot);
    if (byBallot === undefined) this.acceptors.set(slot, (byBallot = new Map()));
    let voters = byBallot.get(ballot);
    if (voters === undefined) byBallot.set(ballot, (voters = new Set()));
    voters.add(from);
    if (voters.size < this.quorum) return;
    const c = this.chosen.get(slot);
    if (c === undefined) {
      this.chosen.set(slot, value);
      if (this.trackChosen) this.newlyChosen.push({ slot, ballot });
      if (value !== NOOP && !this.wasProposed(value)) this.report('validity', `slot ${slot}: chose ${JSON.stringify(value)}, which nobody proposed`);
    } else if (c !== value) {
      this.report('agreement', `slot ${slot}: chose ${JSON.stringify(value)} at ballot ${ballot} after ${JSON.stringify(c)}`);
    }
  }
}
