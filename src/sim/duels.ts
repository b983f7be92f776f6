/**
 * Duels, as the simulator sees them (docs/contention.md, "Duels").
 *
 * A ballot b of node n is *in phase 1 of slot s* from the step in which n
 * sends Prepare(s, b) until the end of the first step of n after which n's
 * proposer no longer holds b in the prepare phase of s: it got a quorum of
 * promises and sent Accept, was rejected, timed out, learned s decided, or n
 * crashed. A stable leader's open Prepare (every slot from s on) is one key,
 * "the leadership", in phase 1 while n is preparing to lead.
 *
 * A *duel* is a stretch of virtual time in which two or more ballots are in
 * phase 1 of the same slot at once; it is counted once, when the second
 * ballot enters. A node retrying in the slot with a higher ballot replaces
 * its own entry (same duel, if one is on).
 *
 * The same pass counts the ballots started (each node's prepares carry
 * strictly increasing ballots, also across restarts, which the
 * ballot-monotonic invariant checks) and the ballots that got a value chosen
 * (a majority of acceptors sent Accepted for it in some slot).
 */
import type { Ballot, NodeId } from '../paxos/ballot.js';
import type { Slot } from '../paxos/messages.js';

/** The key of stable-leader (open) prepares. */
export const LEADERSHIP: Slot = -1;

/** What the tracker reads of a node's proposer after its step (src/paxos/introspect.ts answers it for a Replica). */
export interface ProposerView {
  /** The ballot the proposer holds in phase 1 of `slot`, or -1. */
  preparingBallot(slot: Slot): Ballot;
  readonly leadership: 'idle' | 'preparing' | 'leading';
}

/** Does the proposer still hold `ballot` in phase 1 of `slot` (LEADERSHIP: is it preparing to lead)? */
function preparing(view: ProposerView, slot: Slot, ballot: Ballot): boolean {
  if (slot === LEADERSHIP) return view.leadership === 'preparing';
  return view.preparingBallot(slot) === ballot;
}

export class DuelTracker {
  duels = 0;
  ballotsStarted = 0;
  ballotsChoosing = 0;
  /** Slot → node → its ballot in phase 1 there. */
  private readonly active = new Map<Slot, Map<NodeId, Ballot>>();
  /** Node → the slots where it has a ballot in phase 1. */
  private readonly byNode: Array<Set<Slot>>;
  private readonly lastPrepared: Ballot[];
  /** (slot, ballot) → acceptors that sent Accepted, until a majority; then the ballot is in `choosing`. */
  private readonly accepted = new Map<string, Set<NodeId>>();
  private readonly choosing = new Set<Ballot>();

  constructor(
    nodes: number,
    private readonly quorum: number,
  ) {
    this.byNode = Array.from({ length: nodes }, () => new Set<Slot>());
    this.lastPrepared = new Array<Ballot>(nodes).fill(0);
  }

  /** Node sent a Prepare (each copy of a broadcast comes through here). */
  prepared(node: NodeId, slot: Slot, ballot: Ballot): void {
    if (ballot > (this.lastPrepared[node] ?? 0)) {
      this.lastPrepared[node] = ballot;
      this.ballotsStarted++;
    }
    let racing = this.active.get(slot);
    if (racing === undefined) {
      racing = new Map<NodeId, Ballot>();
      this.active.set(slot, racing);
    }
    const before = racing.size;
    racing.set(node, ballot);
    this.byNode[node]?.add(slot);
    if (before === 1 && racing.size === 2) this.duels++;
  }

  /** Acceptor sent Accepted(slot, ballot). */
  acceptedBy(acceptor: NodeId, slot: Slot, ballot: Ballot): void {
    if (this.choosing.has(ballot)) return;
    const key = `${slot}:${ballot}`;
    let who = this.accepted.get(key);
    if (who === undefined) {
      who = new Set<NodeId>();
      this.accepted.set(key, who);
    }
    who.add(acceptor);
    if (who.size < this.quorum) return;
    this.choosing.add(ballot);
    this.ballotsChoosing++;
    this.accepted.delete(key);
  }

  /** After a step of `node`: drop its ballots that left phase 1. */
  settle(node: NodeId, view: ProposerView): void {
    const slots = this.byNode[node];
    if (slots === undefined || slots.size === 0) return;
    for (const slot of slots) {
      const racing = this.active.get(slot);
      const ballot = racing?.get(node);
      if (racing === undefined || ballot === undefined) continue;
      if (preparing(view, slot, ballot)) continue;
      this.leave(node, slot, racing);
    }
  }

  crashed(node: NodeId): void {
    const slots = this.byNode[node];
    if (slots === undefined) return;
    for (const slot of slots) {
      const racing = this.active.get(slot);
      if (racing !== undefined) this.leave(node, slot, racing);
    }
  }

  /** Slots with a ballot in phase 1 now (for tests). */
  get preparingSlots(): number {
    return this.active.size;
  }

  private leave(node: NodeId, slot: Slot, racing: Map<NodeId, Ballot>): void {
    racing.delete(node);
    this.byNode[node]?.delete(slot);
    if (racing.size === 0) this.active.delete(slot);
  }
}
