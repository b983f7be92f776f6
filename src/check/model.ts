/**
 * The model: a small cluster of real `Replica`s (the same code the workers
 * run), a network of messages in flight, and the SafetyChecker's ghost state.
 * Actions are client proposals, deliveries, losses, timer firings and
 * crash-restarts; `step` applies one to a copy of a state, the way the
 * simulator applies a replica's effects (persist, then send, then decide).
 *
 * Abstractions, each sound for the safety invariants (docs/model-checking.md):
 * - Time: each node has a logical clock that moves only when one of its timers
 *   fires (to that timer's deadline). A timer may fire whenever it is set: a
 *   message may be late by any amount. Fingerprints write times relative to
 *   the node's clock, since the core only compares times.
 * - Randomness: the injected source is a constant; it only picks delays, and
 *   any delay is covered because timer firings are scheduled freely.
 * - Duplication on: the network is a set and delivery leaves the message in it
 *   (a message can be delivered any number of times). Off: a multiset, and
 *   delivery consumes one copy.
 * - Rounds: a step that sends a prepare above `maxRound` (or, for leases, a
 *   lease request above `maxLeaseRequests`) is checked but not
 *   expanded (TLC's state constraint): the search covers exactly the
 *   behaviours whose ballots stay within the bound.
 */
import { roundOf, type NodeId } from '../paxos/ballot.js';
import { encode } from '../paxos/codec.js';
import { MsgType, type Message, type Value } from '../paxos/messages.js';
import { Replica, type PlantedBugs, type ReplicaConfig } from '../paxos/replica.js';
import { attemptIn, fingerprint } from '../paxos/introspect.js';
import { applyReady } from '../paxos/ready.js';
import type { PersistRecord } from '../paxos/storage-records.js';
import type { ContentionPolicy } from '../paxos/policy.js';
import { createPolicy, type PolicySpec } from '../contention/registry.js';
import { SafetyChecker } from '../verify/invariants.js';
import { canonical, deepCopy } from './copy.js';

export interface ModelConfig {
  replicas: number;
  /** Nodes 0 .. proposers-1 each get one client value. */
  proposers: number;
  /** Distinct values: proposer p proposes `v${p % values}`. */
  values: number;
  /** Highest ballot round explored. */
  maxRound: number;
  /** lease: lease requests a holder may start (default 2); like maxRound, a state constraint that keeps the space finite. */
  maxLeaseRequests?: number;
  /** Slots a proposer may use: 1 is single-decree Paxos (a proposer that loses its slot does not move on). */
  slots: number;
  loss: boolean;
  dup: boolean;
  timers: boolean;
  /** Crash-restarts allowed in a behaviour, in total (a restart rebuilds the node from its persisted records). */
  crashes: number;
  policy: PolicySpec;
  bugs: PlantedBugs;
  /** Off: durability bugs must show through their effects after a restart (default on: checked at each send). */
  checkPersistence?: boolean;
  /**
   * Dead-message reduction (default on): a message whose delivery can no
   * longer change anything is taken out of the network. Off: the plain
   * interleaving semantics (for comparison and for the soundness test).
   */
  reduce?: boolean;
}

export type Action =
  | { k: 'propose'; node: NodeId; value: Value }
  | { k: 'deliver'; from: NodeId; to: NodeId; msg: Message }
  | { k: 'drop'; from: NodeId; to: NodeId; msg: Message }
  | { k: 'timer'; node: NodeId }
  | { k: 'restart'; node: NodeId };

export interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: Message;
  /** Canonical text (the wire tuple): equal messages have equal keys. */
  readonly key: string;
}

/** A snapshot. Replicas are shared between states until a step touches one (it is copied first). */
export interface State {
  readonly replicas: readonly Replica[];
  readonly clocks: readonly number[];
  readonly records: readonly (readonly PersistRecord[])[];
  /** Sorted by key; unique keys when duplication is on. */
  readonly net: readonly Envelope[];
  /** Per proposer: its client has handed over its value (reset by a restart, so the client retries). */
  readonly proposed: readonly boolean[];
  readonly crashes: number;
  readonly ghost: SafetyChecker;
}

export interface StepResult {
  state: State;
  /** The step sent a prepare above maxRound: check the state, do not expand it. */
  outOfBound: boolean;
}

/** Ghost fields that do not describe the history (config, or the violation list, which stops the search). */
const GHOST_SKIP = new Set(['violations', 'maxViolations', 'checkPersistence', 'quorum']);

/**
 * Time constants of the checker's replicas, small and of one magnitude: only
 * their order matters (time is abstracted to timer events), and with heartbeats
 * every 2 ms an attempt timeout of 50 would take 25 heartbeat steps to reach.
 * The checker's default leader/lease parameters are CHECK_POLICY_DEFAULTS.
 */
const ATTEMPT_TIMEOUT_MS = 8;

export const CHECK_POLICY_DEFAULTS = { heartbeat_ms: 4, election_timeout_ms: 5, lease_ms: 8, drift_ms: 2, base_ms: 8, cap_ms: 8 } as const;


export function valueOf(proposer: number, values: number): Value {
  return `v${proposer % values}`;
}

export function envelopeKey(from: NodeId, to: NodeId, msg: Message): string {
  return `${from}>${to}${JSON.stringify(encode(msg))}`;
}

export class Model {
  private readonly policies: ContentionPolicy[];
  private readonly policySet: Set<object>;
  private readonly fpCache = new WeakMap<Replica, string>();
  /** Per replica snapshot (shared copy-on-write, so identity is state): envelope key -> dead there. */
  private readonly deadCache = new WeakMap<Replica, Map<string, boolean>>();
  private readonly ghostText = new WeakMap<SafetyChecker, string>();
  /** The ghost the current step has copied and may write; any other is shared with other states. */
  private ownedGhost: SafetyChecker | null = null;
  /** Small exact ids for fingerprint texts (control keys are built from ids, not from the long texts). */
  private readonly textIds = new Map<string, number>();
  private readonly replicaIds = new WeakMap<Replica, number>();
  private readonly ghostIds = new WeakMap<SafetyChecker, number>();

  constructor(readonly cfg: ModelConfig) {
    validateModelConfig(cfg);
    // One policy object per node, shared by every snapshot: only stateless policies qualify (see validate).
    this.policies = Array.from({ length: cfg.replicas }, () => createPolicy(cfg.policy));
    this.policySet = new Set(this.policies);
  }

  replicaConfig(id: NodeId): ReplicaConfig {
    const policy = this.policies[id];
    if (policy === undefined) throw new RangeError(`no node ${id}`);
    return {
      id, nodes: this.cfg.replicas, policy, random: () => 0.5, attemptTimeout_ms: ATTEMPT_TIMEOUT_MS,
      // Anti-entropy off: it only spreads decisions already made, and its endless timer would make the space infinite.
      sync_ms: Number.POSITIVE_INFINITY,
      maxPending: 8, retainDecided: 1 << 20, bugs: this.cfg.bugs,
    };
  }

  initial(): State {
    const n = this.cfg.replicas;
    const s: MutableState = {
      replicas: [], clocks: new Array<number>(n).fill(0), records: Array.from({ length: n }, () => []), net: [],
      proposed: new Array<boolean>(this.cfg.proposers).fill(false), crashes: 0,
      ghost: new SafetyChecker(n, { maxViolations: 10, checkPersistence: this.cfg.checkPersistence ?? true }),
    };
    this.ownedGhost = s.ghost;
    for (let id = 0; id < n; id++) {
      s.replicas.push(Replica.start(this.replicaConfig(id), 0));
      this.effects(s, id);
    }
    return s;
  }

  /** Every action enabled in `s`, in a fixed order. */
  actions(s: State): Action[] {
    const out: Action[] = [];
    for (let p = 0; p < this.cfg.proposers; p++) {
      if (s.proposed[p] !== true) out.push({ k: 'propose', node: p, value: valueOf(p, this.cfg.values) });
    }
    let prev = '';
    for (const e of s.net) {
      if (e.key === prev) continue; // identical copies give identical successors
      prev = e.key;
      out.push({ k: 'deliver', from: e.from, to: e.to, msg: e.msg });
      if (this.cfg.loss) out.push({ k: 'drop', from: e.from, to: e.to, msg: e.msg });
    }
    if (this.cfg.timers) {
      for (let id = 0; id < this.cfg.replicas; id++) {
        if (this.timerEnabled(this.replica(s, id))) out.push({ k: 'timer', node: id });
      }
    }
    if (s.crashes < this.cfg.crashes) for (let id = 0; id < this.cfg.replicas; id++) out.push({ k: 'restart', node: id });
    return out;
  }

  /** Applies `a` to a copy of `s`. Throws if `a` is not enabled (a replayed trace that does not fit). */
  step(s: State, a: Action): StepResult {
    const next: MutableState = {
      replicas: [...s.replicas], clocks: [...s.clocks], records: [...s.records], net: [...s.net],
      proposed: [...s.proposed], crashes: s.crashes, ghost: s.ghost,
    };
    this.ownedGhost = null; // copied on the step's first write: most deliveries change no ghost fact
    switch (a.k) {
      case 'propose': {
        if (a.node >= this.cfg.proposers || next.proposed[a.node] === true) throw new Error(`propose at n${a.node} is not enabled`);
        next.proposed[a.node] = true;
        this.ghost(next).proposedValue(a.value);
        this.own(next, a.node).propose(a.value, this.clock(next, a.node));
        return this.finish(next, a.node, this.replica(s, a.node));
      }
      case 'deliver':
      case 'drop': {
        const key = envelopeKey(a.from, a.to, a.msg);
        const i = next.net.findIndex((e) => e.key === key);
        if (i < 0) throw new Error(`no message ${key} in flight`);
        if (a.k === 'drop' || !this.cfg.dup) next.net.splice(i, 1);
        if (a.k === 'drop') return { state: next, outOfBound: false };
        this.own(next, a.to).receive(a.from, a.msg, this.clock(next, a.to));
        return this.finish(next, a.to, this.replica(s, a.to));
      }
      case 'timer': {
        const r = this.own(next, a.node);
        const at = r.nextDeadline();
        if (!this.timerEnabled(this.replica(s, a.node)) || !Number.isFinite(at)) throw new Error(`n${a.node} has no timer set`);
        const now = Math.max(this.clock(next, a.node), at);
        next.clocks[a.node] = now;
        r.tick(now);
        return this.finish(next, a.node, this.replica(s, a.node));
      }
      case 'restart': {
        if (next.crashes >= this.cfg.crashes) throw new Error('no crash left in the budget');
        next.crashes++;
        const id = a.node;
        const r = Replica.start(this.replicaConfig(id), this.clock(next, id), next.records[id] ?? []);
        next.replicas[id] = r;
        this.ghost(next).recovered(id, r);
        if (id < this.cfg.proposers) next.proposed[id] = false;
        return this.finish(next, id);
      }
    }
  }

  /** Canonical text of everything that can affect the future, the ghost history included. */
  fingerprint(s: State): string {
    return `${this.controlFingerprint(s)}\n${s.net.map((e) => e.key).join(' ')}`;
  }

  /**
   * Everything but the network: the replicas, the clients' flags, the crash
   * count and the ghost. Two states with the same control part whose networks
   * are in multiset inclusion are in the covering relation the search uses
   * (see search.ts: a message may stay undelivered forever, so more messages
   * in flight allow every behaviour that fewer do).
   */
  /**
   * The control part as full text with the projected ghost whatever the
   * config, comparable across Model instances (tests compare reduced and plain searches).
   */
  controlText(s: State): string {
    const parts: string[] = [];
    for (let id = 0; id < s.replicas.length; id++) parts.push(this.replicaFingerprint(this.replica(s, id), this.clock(s, id)));
    parts.push(s.proposed.map((p) => (p ? '1' : '0')).join(''), String(s.crashes), canonical(projectGhost(s.ghost), GHOST_SKIP));
    return parts.join('\n');
  }

  controlFingerprint(s: State): string {
    // Each replica and the ghost by an exact id of its canonical text (interned: no hash, no collision).
    const parts: (string | number)[] = [];
    for (let id = 0; id < s.replicas.length; id++) parts.push(this.replicaId(s, id));
    parts.push(s.proposed.map((p) => (p ? '1' : '0')).join(''));
    parts.push(s.crashes);
    // Persisted records are left out: the ghost's durable image is built from exactly the same records.
    parts.push(this.ghostId(s.ghost));
    return parts.join(',');
  }

  replica(s: State, id: NodeId): Replica {
    const r = s.replicas[id];
    if (r === undefined) throw new RangeError(`no node ${id}`);
    return r;
  }

  /**
   * A timer may fire while one is set: for the per-slot policies, one for an
   * attempt in a modelled slot (with the window of 1 the checker uses, a node
   * has at most one attempt, and anti-entropy is off); with an election
   * (leader, lease), any: heartbeats, elections, leases and resends.
   */
  timerEnabled(r: Replica): boolean {
    if (!Number.isFinite(r.nextDeadline())) return false;
    if (this.policies[r.id]?.election != null) return true;
    for (let slot = 0; slot < this.cfg.slots; slot++) if (attemptIn(r, slot) !== null) return true;
    return false;
  }

  private clock(s: State, id: NodeId): number {
    return s.clocks[id] ?? 0;
  }

  /** Copy-on-write: the replica of `id` in `s`, copied so the step may mutate it. */
  private own(s: MutableState, id: NodeId): Replica {
    const r = this.copyReplica(this.replica(s, id));
    s.replicas[id] = r;
    return r;
  }

  private finish(s: MutableState, id: NodeId, before?: Replica): StepResult {
    const outOfBound = this.effects(s, id);
    if (this.reducing(s)) {
      if (before !== undefined) this.checkMonotone(before, this.replica(s, id));
      this.removeDead(s);
    }
    return { state: s, outOfBound };
  }

  /** The step's writable ghost: a copy of the parent's, made on first use. */
  private ghost(s: MutableState): SafetyChecker {
    if (s.ghost !== this.ownedGhost) {
      s.ghost = deepCopy(s.ghost);
      this.ownedGhost = s.ghost;
    }
    return s.ghost;
  }

  private textId(text: string): number {
    let id = this.textIds.get(text);
    if (id === undefined) this.textIds.set(text, (id = this.textIds.size));
    return id;
  }

  private replicaId(s: State, node: NodeId): number {
    const r = this.replica(s, node);
    let id = this.replicaIds.get(r);
    if (id === undefined) {
      id = this.textId(`r${node}#${this.replicaFingerprint(r, this.clock(s, node))}`);
      this.replicaIds.set(r, id);
    }
    return id;
  }

  private ghostId(g: SafetyChecker): number {
    let id = this.ghostIds.get(g);
    if (id === undefined) {
      id = this.textId(`g#${this.ghostFingerprint(g)}`);
      this.ghostIds.set(g, id);
    }
    return id;
  }

  /** A deep copy a step may mutate; the node's (stateless) policy object is shared. */
  copyReplica(r: Replica): Replica {
    return deepCopy(r, (o) => this.policySet.has(o));
  }

  replicaFingerprint(r: Replica, now: number): string {
    let fp = this.fpCache.get(r);
    if (fp === undefined) {
      fp = fingerprint(r, now);
      this.fpCache.set(r, fp);
    }
    return fp;
  }

  /** The ghost's text: its projection with the reductions on, the whole history with --no-reduce. */
  /** The projected ghost's text whatever the config (what `controlText` writes). */
  projectedGhostText(g: SafetyChecker): string {
    return canonical(projectGhost(g), GHOST_SKIP);
  }

  ghostFingerprint(g: SafetyChecker): string {
    let text = this.ghostText.get(g);
    if (text === undefined) {
      text = canonical(this.cfg.reduce === false ? g : projectGhost(g), GHOST_SKIP);
      this.ghostText.set(g, text);
    }
    return text;
  }

  /**
   * The dead-message reduction applies once no crash is left in the budget (a
   * restart wipes the volatile state, attempts and learned values, that
   * deadness rests on), and only to the per-slot policies: a stable leader
   * drops its attempts when it steps down, so its attempt ballots do not only
   * grow (covering, which rests on nothing in the core, still applies).
   */
  private reducing(s: State): boolean {
    return this.dropsDeadMessages && s.crashes >= this.cfg.crashes;
  }

  get dropsDeadMessages(): boolean {
    return (this.cfg.reduce ?? true) && this.policies[0]?.election == null;
  }

  /**
   * Dead-message reduction. A message m in flight to node r is dead when
   *  (a) m is a Promise, Accepted or Nack about (slot, b) and r has learned the
   *      slot or its attempt there is at a ballot above b; or m is a Decide for
   *      a slot r has learned; and
   *  (b) delivering m to r now changes nothing: r's fingerprint is unchanged and
   *      r emits no record, message or decision (checked by doing it, on a copy).
   * (a) is monotone: r's attempt ballot per slot only grows until the slot is
   * learned, and a learned slot stays learned (checkMonotone asserts this on
   * every step while the reduction is on). Given (a), the handlers reach m
   * only through `see` (highestSeen, which only grows, so a ballot that did
   * not raise it never will) and their stale-message branch, so (b) holds in
   * every later state too. A dead message's delivery is thus a stutter of the
   * replicas and the ghost (nothing is sent, persisted or learned), and taking
   * it out is the same as delivering it now (--no-dup) or never (--dup): the
   * reduced state is one the plain model reaches, and every plain behaviour
   * maps to a reduced one with the same replica and ghost states.
   */
  private removeDead(s: MutableState): void {
    const keep: Envelope[] = [];
    for (const e of s.net) {
      if (!this.isDead(this.replica(s, e.to), this.clock(s, e.to), e)) keep.push(e);
    }
    if (keep.length !== s.net.length) s.net = keep;
  }

  // The cache is per replica snapshot: a node's clock moves only in a step that copies it, so `now` is fixed per snapshot.
  private isDead(r: Replica, now: number, e: Envelope): boolean {
    let cache = this.deadCache.get(r);
    if (cache === undefined) this.deadCache.set(r, (cache = new Map()));
    let dead = cache.get(e.key);
    if (dead === undefined) {
      dead = staleFor(r, e.msg) && this.noop(r, now, e);
      cache.set(e.key, dead);
    }
    return dead;
  }

  /** Delivering `e` to a copy of `r` changes no behavioural field and emits nothing. */
  noop(r: Replica, now: number, e: Envelope): boolean {
    const c = this.copyReplica(r);
    const fp0 = fingerprint(c, now);
    c.receive(e.from, e.msg, now);
    c.endTurn(now);
    const out = c.takeReady();
    return out.persist.length === 0 && out.messages.length === 0 && out.decisions.length === 0 && fingerprint(c, now) === fp0;
  }

  /** The premise of the dead-message reduction, asserted on each step: learned stays learned, an attempt's ballot only grows. */
  checkMonotone(before: Replica, after: Replica): void {
    for (let slot = 0; slot < this.cfg.slots; slot++) {
      const learned = before.decided(slot) !== undefined;
      if (learned && after.decided(slot) === undefined) {
        throw new Error(`dead-message reduction unsound here: n${after.id} forgot slot ${slot} (rerun with --no-reduce)`);
      }
      const b = attemptIn(before, slot)?.ballot;
      if (learned || b === undefined || after.decided(slot) !== undefined) continue;
      const a = attemptIn(after, slot)?.ballot;
      if (a === undefined || a < b) {
        throw new Error(`dead-message reduction unsound here: n${after.id}'s attempt in slot ${slot} went from ballot ${b} to ${a ?? 'none'} (rerun with --no-reduce)`);
      }
    }
  }

  /** Applies node `id`'s effects as a driver must: persist, then send, then decide. Returns true if a prepare went above maxRound. */
  private effects(s: MutableState, id: NodeId): boolean {
    const r = this.replica(s, id);
    r.endTurn(this.clock(s, id));
    let outOfBound = false;
    applyReady(id, r.takeReady(), {
      persist: (records) => {
        s.records[id] = [...(s.records[id] ?? []), ...records];
        for (const rec of records) this.ghost(s).persisted(id, rec);
      },
      observe: (_to, msg) => this.ghost(s).sent(id, msg),
      send: (to, msg) => {
        // Messages about slots beyond the model leave it (see outgoing): a proposer that lost its slot goes inert.
        const fate = outgoing(this.cfg, msg);
        if (fate.beyondBounds) outOfBound = true;
        if (fate.inModel) this.send(s, { from: id, to, msg, key: envelopeKey(id, to, msg) });
      },
      decided: (decisions) => {
        for (const d of decisions) this.ghost(s).learnedBy(id, d.slot, d.value);
      },
    });
    return outOfBound;
  }

  private send(s: MutableState, e: Envelope): void {
    let i = 0;
    while (i < s.net.length && (s.net[i]?.key ?? '') < e.key) i++;
    if (this.cfg.dup && s.net[i]?.key === e.key) return; // a set: one copy stands for any number
    s.net.splice(i, 0, e);
  }
}

/**
 * The slot a message is about. Single-decree (slots = 1) is modelled by taking
 * messages for later slots out of the network: the core moves a proposer whose
 * value lost slot 0 on to slot 1, which single-decree Paxos does not have.
 */
/** The SafetyChecker's history, as its fields are laid out (read only, for the projection below). */
interface GhostView {
  nodes: Array<Record<string, unknown> & { votes: Map<number, Map<number, Value>>; maxVote: Map<number, number> }>;
  acceptValue: Map<number, Map<number, Value>>;
  acceptors: Map<number, Map<number, Set<NodeId>>>;
  quorum: number;
}

/**
 * The ghost facts a future check can still read, as a plain graph (the full
 * history otherwise splits states that no future event can tell apart):
 * - a node's votes: only the one at its highest ballot per slot. `checkVotes`
 *   reads a reported vote's value only to compare it; a reported ballot that is
 *   not the highest is a votes-real violation whatever the older values were.
 * - voters per ballot: a ballot that already has a quorum is written `Q`. A
 *   further voter only re-compares its (fixed) value with the chosen one, which
 *   was settled (chosen, or agreement reported) when the quorum formed.
 * Everything else is kept as it is. If the layout changes, the projection
 * falls back to the whole ghost (never less than the invariants read).
 */
function projectGhost(g: SafetyChecker): unknown {
  const v = g as unknown as GhostView;
  if (!Array.isArray(v.nodes) || !(v.acceptors instanceof Map) || typeof v.quorum !== 'number') return g;
  const nodes = v.nodes.map((n) => {
    if (!(n.votes instanceof Map) || !(n.maxVote instanceof Map)) return n;
    const top = new Map<number, string>();
    for (const [slot, b] of n.maxVote) top.set(slot, `${b}:${JSON.stringify(n.votes.get(slot)?.get(b))}`);
    return { ...n, votes: top, maxVote: undefined };
  });
  const acceptors = new Map<number, Map<number, Set<NodeId> | 'Q'>>();
  for (const [slot, byBallot] of v.acceptors) {
    const m = new Map<number, Set<NodeId> | 'Q'>();
    for (const [b, voters] of byBallot) m.set(b, voters.size >= v.quorum ? 'Q' : voters);
    acceptors.set(slot, m);
  }
  return { ...(g as unknown as Record<string, unknown>), nodes, acceptors };
}

/**
 * Part (a) of deadness (see Model.removeDead): a response about a ballot below
 * r's attempt in its slot, or about a slot r has learned; a Decide r knows.
 */
export function staleFor(r: Replica, m: Message): boolean {
  switch (m.t) {
    case MsgType.Promise:
    case MsgType.Accepted:
    case MsgType.Nack: {
      if (m.t === MsgType.Promise && m.open) return false; // stable-leader phase 1: not modelled
      if (r.decided(m.slot) !== undefined) return true;
      const at = attemptIn(r, m.slot);
      return at !== null && at.ballot > m.ballot;
    }
    case MsgType.Decide:
      return r.decided(m.slot) !== undefined;
    default:
      return false;
  }
}

/**
 * What the model does with a message a node sends. `inModel`: it can affect
 * the modelled slots. Single-decree Paxos has no slot 1, so a message about a
 * slot beyond the model leaves the network, except a stable leader's phase 1:
 * an open prepare sets the acceptor's floor, which holds for every slot (slot
 * 0 included) whatever slot it starts from, so it, its open promises and, with
 * an election, the nacks (a leader reads only their ballot) stay.
 * `beyondBounds`: the bounded search does not follow the step: a prepare above
 * maxRound that is in the model, or a lease request above maxLeaseRequests. A
 * per-slot prepare for a slot beyond the model is no bound: the node that sent
 * it has learned the modelled slots and still takes part in them as an
 * acceptor and learner, which the search keeps following.
 */
export function outgoing(cfg: ModelConfig, m: Message): { inModel: boolean; beyondBounds: boolean } {
  const slot = slotOf(m);
  const elected = cfg.policy.name === 'leader' || cfg.policy.name === 'lease';
  const leadership = ((m.t === MsgType.Prepare || m.t === MsgType.Promise) && m.open) || (elected && m.t === MsgType.Nack);
  const inModel = slot === null || slot < cfg.slots || leadership;
  let beyondBounds = false;
  if (m.t === MsgType.Prepare) beyondBounds = inModel && roundOf(m.ballot) > cfg.maxRound;
  else if (m.t === MsgType.LeaseRequest) beyondBounds = m.seq > (cfg.maxLeaseRequests ?? 2);
  return { inModel, beyondBounds };
}

export function slotOf(m: Message): number | null {
  switch (m.t) {
    case MsgType.Prepare:
    case MsgType.Promise:
    case MsgType.Accept:
    case MsgType.Accepted:
    case MsgType.Nack:
    case MsgType.Decide:
      return m.slot;
    default:
      return null;
  }
}

interface MutableState {
  replicas: Replica[];
  clocks: number[];
  records: (readonly PersistRecord[])[];
  net: Envelope[];
  proposed: boolean[];
  crashes: number;
  ghost: SafetyChecker;
}

/** Throws a RangeError with a one-line reason. */
export function validateModelConfig(c: ModelConfig): void {
  const int = (name: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in ${lo}..${hi}, got ${v}`);
  };
  int('replicas', c.replicas, 1, 7);
  int('proposers', c.proposers, 1, c.replicas);
  int('values', c.values, 1, 16);
  int('max-round', c.maxRound, 1, 64);
  int('slots', c.slots, 1, 4);
  if (c.policy.params.window !== 1) throw new RangeError(`the checker models window 1, got ${c.policy.params.window}`);
  int('crashes', c.crashes, 0, 8);
  int('max-lease-requests', c.maxLeaseRequests ?? 2, 1, 64);
}
