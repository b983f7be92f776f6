/**
 * The search's state space, interned. The real `Replica` runs once per
 * distinct (replica state, input) pair; the search then moves through small
 * integer ids.
 *
 * Why this is exact: a global state is the tuple of its nodes' replica
 * states, the ghost, the clients' flags, the crash count and the network. A
 * step touches one node: its result (the node's next state, the messages it
 * sends, the records it persists, the events the ghost sees) depends only on
 * that node's state and the input, because the core is deterministic (no
 * clock or randomness inside, see model.ts for the abstractions of time and
 * randomness). So each distinct (node state, input) is computed once, by
 * `Model`'s real code, and remembered (`Transition`); the ghost's reaction to
 * a transition likewise depends only on the ghost and the transition. A node
 * state is identified by its fingerprint, which the checker already trusts to
 * be complete (it is how states are told apart at all), with times relative
 * to the node's clock; the representative object keeps the clock it was
 * fingerprinted at, so a transition computed from it is the same, up to a
 * shift of time, as one computed from any equal state.
 *
 * A global state is then a string of char codes: each node's state id, the
 * ghost id, flags and, while a crash is left in the budget, each node's
 * persisted-records id (two chars per id), followed by the network as a
 * sorted list of envelope ids (one char each). About 40 bytes per state, so
 * tens of millions of states fit in memory.
 */
import type { NodeId } from '../paxos/ballot.js';
import type { Message, Value } from '../paxos/messages.js';
import { Replica } from '../paxos/replica.js';
import { applyReady } from '../paxos/ready.js';
import type { PersistRecord } from '../paxos/storage-records.js';
import { RECORDED_SENDS, SafetyChecker, type Violation } from '../verify/invariants.js';
import { deepCopy } from './copy.js';
import { Model, envelopeKey, outgoing, staleFor, valueOf, type Action, type Envelope, type ModelConfig } from './model.js';

/** One distinct state of one node: the object the transitions are computed from, never mutated. */
interface NodeState {
  readonly node: NodeId;
  readonly replica: Replica;
  readonly clock: number;
  readonly timerEnabled: boolean;
}

type GhostEvent =
  | { k: 'proposed'; value: Value }
  | { k: 'persisted'; rec: PersistRecord }
  | { k: 'sent'; msg: Message }
  | { k: 'learned'; slot: number; value: Value }
  | { k: 'recovered'; replica: Replica };

/** What one node does on one input: computed once by the real core. */
interface Transition {
  readonly id: number;
  readonly node: NodeId;
  /** The node's next state id. */
  readonly next: number;
  /** Envelope ids sent to other nodes, within the modelled slots. */
  readonly sends: readonly number[];
  /** What the ghost sees, in the order a driver produces it: persist, then send, then decide. */
  readonly events: readonly GhostEvent[];
  readonly persisted: readonly PersistRecord[];
  /** A prepare above maxRound was sent: the successor is checked, not expanded. */
  readonly outOfBound: boolean;
  /** Records, messages (to anyone, in any slot) and decisions the node emitted: 0 for a step that does nothing visible. */
  readonly emitted: number;
}

/** Input codes of a node transition: timer, client proposal, or a delivery (INPUT_DELIVER + envelope id). */
const INPUT_TIMER = 0;
const INPUT_PROPOSE = 1;
const INPUT_DELIVER = 2;
const ENV_LIMIT = 0xffff; // an envelope id is one char of the state string
const ID_SPACE = 2 ** 22; // memo keys: id * ID_SPACE + input, exact below 2^53
const TRANSITION_LIMIT = ID_SPACE * 4;
const MEMO_LIMIT = 2 ** 24 - 1; // memo keys: (ghost or records id) * TRANSITION_LIMIT + transition id

/** Action codes (kind << 24 | argument), stored per admitted state for paths. */
const A_PROPOSE = 0;
const A_DELIVER = 1;
const A_DROP = 2;
const A_TIMER = 3;
const A_RESTART = 4;

/** The view of a global state the "sometimes" properties and tests read. */
export interface StateView {
  replica(node: NodeId): Replica;
  /** The node's clock (the time its replica's deadlines are relative to). */
  clock(node: NodeId): number;
  readonly ghost: SafetyChecker;
  /** Everything but the network as full text (replicas, flags, crash count, projected ghost): comparable across searches. */
  controlText(): string;
}

export interface Successor {
  /** The successor as a state string; null when the step broke an invariant or went beyond maxRound. */
  state: string | null;
  code: number;
  outOfBound: boolean;
  violations: Violation[] | null;
}

export class StateSpace {
  readonly model: Model;
  private readonly cfg: ModelConfig;
  private readonly n: number;
  /** Length of a state string's control part (everything before the network). */
  readonly controlLength: number;
  private readonly keepRecords: boolean;

  private readonly nodeStates = new Table<NodeState>('node state');
  private readonly transitions: Transition[] = [];
  private readonly transitionMemo = new Map<number, number>();
  private readonly restartMemo = new Map<string, number>();
  private readonly ghosts = new Table<SafetyChecker>('ghost');
  /** (ghost, transition) -> next ghost id, or -1 - index into ghostViolations. */
  private readonly ghostMemo = new Map<number, number>();
  private readonly ghostViolations: Violation[][] = [];
  private readonly envelopes = new Table<Envelope>('envelope', ENV_LIMIT);
  private readonly deadMemo = new Map<number, boolean>();
  private readonly recordLists = new Table<readonly PersistRecord[]>('record list');
  private readonly appendMemo = new Map<number, number>();

  constructor(cfg: ModelConfig) {
    this.model = new Model(cfg);
    this.cfg = cfg;
    this.n = cfg.replicas;
    this.keepRecords = cfg.crashes > 0;
    this.controlLength = 2 * this.n + 3 + (this.keepRecords ? 2 * this.n : 0);
    this.recordLists.intern('-', () => []); // id 0: nothing persisted (or records no restart will read)
  }

  /** Figures about the interned tables (how much real-core work the search did). */
  get tables(): { nodeStates: number; transitions: number; ghosts: number; envelopes: number } {
    return { nodeStates: this.nodeStates.size, transitions: this.transitions.length, ghosts: this.ghosts.size, envelopes: this.envelopes.size };
  }

  initial(): { state: string; violations: Violation[] | null } {
    const s = this.model.initial();
    if (!s.ghost.ok) return { state: '', violations: s.ghost.violations };
    const snaps = s.replicas.map((r, id) => this.internNode(id, r, s.clocks[id] ?? 0));
    const recs = s.records.map((list, id) => this.internRecords(id, list));
    const net = s.net.map((e) => this.envelopeId(e.from, e.to, e.msg));
    const ghost = this.internGhost(s.ghost);
    return { state: this.encode(snaps, ghost, 0, recs, this.reducedNet(snaps, net.sort((a, b) => a - b), 0)), violations: null };
  }

  /** Every successor of `state`, in a fixed order (proposals, deliveries and losses by envelope id, timers, restarts). */
  successors(state: string, out: (succ: Successor) => boolean): void {
    const n = this.n;
    const snaps: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) snaps[i] = dec2(state, 2 * i);
    const ghost = dec2(state, 2 * n);
    const flags = state.charCodeAt(2 * n + 2);
    const recs: number[] = [];
    if (this.keepRecords) for (let i = 0; i < n; i++) recs.push(dec2(state, 2 * n + 3 + 2 * i));
    const crashes = flags >>> 8;
    const net: number[] = [];
    for (let i = this.controlLength; i < state.length; i++) net.push(state.charCodeAt(i));

    for (let p = 0; p < this.cfg.proposers; p++) {
      if ((flags & (1 << p)) !== 0) continue;
      const t = this.transition(snaps[p] ?? 0, INPUT_PROPOSE);
      if (out(this.apply(snaps, ghost, flags | (1 << p), recs, net, t, -1, (A_PROPOSE << 24) | p))) return;
    }
    for (let i = 0; i < net.length; i++) {
      const e = net[i] ?? 0;
      if (i > 0 && net[i - 1] === e) continue; // identical copies give identical successors
      const to = this.envelope(e).to;
      const t = this.transition(snaps[to] ?? 0, INPUT_DELIVER + e);
      if (out(this.apply(snaps, ghost, flags, recs, net, t, this.cfg.dup ? -1 : i, (A_DELIVER << 24) | e))) return;
      if (this.cfg.loss) {
        const rest = net.slice(0, i).concat(net.slice(i + 1));
        const code = (A_DROP << 24) | e;
        if (out({ state: this.encode(snaps, ghost, flags, recs, rest), code, outOfBound: false, violations: null })) return;
      }
    }
    if (this.cfg.timers) {
      for (let id = 0; id < n; id++) {
        const sid = snaps[id] ?? 0;
        if (!this.nodeState(sid).timerEnabled) continue;
        if (out(this.apply(snaps, ghost, flags, recs, net, this.transition(sid, INPUT_TIMER), -1, (A_TIMER << 24) | id))) return;
      }
    }
    if (crashes < this.cfg.crashes) {
      for (let id = 0; id < n; id++) {
        const t = this.restartTransition(id, recs[id] ?? 0);
        let f = flags + (1 << 8);
        if (id < this.cfg.proposers) f &= ~(1 << id); // the client retries with the restarted node
        if (out(this.apply(snaps, ghost, f, recs, net, t, -1, (A_RESTART << 24) | id))) return;
      }
    }
  }

  /** The successor of taking transition `t` (removing net[consumed] first, if >= 0). */
  private apply(snaps: readonly number[], ghost: number, flags: number, recs: readonly number[], net: readonly number[], t: Transition, consumed: number, code: number): Successor {
    const g = this.ghostStep(ghost, t);
    if (g < 0) return { state: null, code, outOfBound: false, violations: this.ghostViolations[-1 - g] ?? [] };
    if (t.outOfBound) return { state: null, code, outOfBound: true, violations: null };
    const nextSnaps = snaps.slice();
    nextSnaps[t.node] = t.next;
    let nextRecs = recs as number[];
    if (this.keepRecords && t.persisted.length > 0) {
      nextRecs = recs.slice();
      nextRecs[t.node] = this.appendRecords(recs[t.node] ?? 0, t);
    }
    let nextNet = consumed >= 0 ? net.slice(0, consumed).concat(net.slice(consumed + 1)) : net.slice();
    for (const e of t.sends) insertSorted(nextNet, e, this.cfg.dup);
    nextNet = this.reducedNet(nextSnaps, nextNet, flags >>> 8);
    return { state: this.encode(nextSnaps, g, flags, nextRecs, nextNet), code, outOfBound: false, violations: null };
  }

  /** The network with dead messages taken out (see Model.removeDead), once no crash is left in the budget. */
  private reducedNet(snaps: readonly number[], net: number[], crashes: number): number[] {
    if (!this.model.dropsDeadMessages || crashes < this.cfg.crashes) return net;
    let w = 0;
    for (let i = 0; i < net.length; i++) {
      const e = net[i] ?? 0;
      if (!this.dead(snaps[this.envelope(e).to] ?? 0, e)) net[w++] = e;
    }
    net.length = w;
    return net;
  }

  private dead(sid: number, e: number): boolean {
    const key = sid * ID_SPACE + e;
    let d = this.deadMemo.get(key);
    if (d === undefined) {
      // Part (b) of deadness, "delivering it now changes nothing", read off the delivery's own (memoized) transition.
      if (staleFor(this.nodeState(sid).replica, this.envelope(e).msg)) {
        const t = this.transition(sid, INPUT_DELIVER + e);
        d = t.next === sid && t.emitted === 0;
      } else d = false;
      remember(this.deadMemo, key, d);
    }
    return d;
  }

  private encode(snaps: readonly number[], ghost: number, flags: number, recs: readonly number[], net: readonly number[]): string {
    let s = '';
    for (const x of snaps) s += enc2(x);
    s += enc2(ghost) + String.fromCharCode(flags);
    if (this.keepRecords) {
      // Once no crash is left, no restart will read the records: forget them (fewer distinct states, same behaviours).
      const live = flags >>> 8 < this.cfg.crashes;
      for (const r of recs) s += enc2(live ? r : 0);
    }
    for (const e of net) s += String.fromCharCode(e);
    return s;
  }

  // ---- node transitions (the real core, once per distinct input) ----

  private transition(sid: number, input: number): Transition {
    const key = sid * ID_SPACE + input;
    const known = this.transitionMemo.get(key);
    if (known !== undefined) return this.transitions[known] as Transition;
    const from = this.nodeState(sid);
    const r = this.model.copyReplica(from.replica);
    let now = from.clock;
    const events: GhostEvent[] = [];
    if (input === INPUT_PROPOSE) {
      const value = valueOf(from.node, this.cfg.values);
      events.push({ k: 'proposed', value });
      r.propose(value, now);
    } else if (input === INPUT_TIMER) {
      now = Math.max(now, r.nextDeadline());
      r.tick(now);
    } else {
      const env = this.envelope(input - INPUT_DELIVER);
      r.receive(env.from, env.msg, now);
    }
    const t = this.finish(from.node, r, now, events);
    if (this.model.dropsDeadMessages) this.model.checkMonotone(from.replica, this.nodeState(t.next).replica);
    remember(this.transitionMemo, key, t.id);
    return t;
  }

  private restartTransition(node: NodeId, recs: number): Transition {
    const key = `${node}:${recs}`;
    const known = this.restartMemo.get(key);
    if (known !== undefined) return this.transitions[known] as Transition;
    const r = Replica.start(this.model.replicaConfig(node), 0, this.recordLists.at(recs));
    const t = this.finish(node, r, 0, [{ k: 'recovered', replica: this.model.copyReplica(r) }]);
    remember(this.restartMemo, key, t.id);
    return t;
  }

  /** Takes the node's effects as a driver does (persist, send, decide) and interns the result. */
  private finish(node: NodeId, r: Replica, now: number, events: GhostEvent[]): Transition {
    r.endTurn(now);
    const ready = r.takeReady();
    const sends: number[] = [];
    let outOfBound = false;
    applyReady(node, ready, {
      persist: (records) => {
        for (const rec of records) events.push({ k: 'persisted', rec });
      },
      observe: (_to, msg) => {
        if (RECORDED_SENDS.has(msg.t)) events.push({ k: 'sent', msg });
      },
      send: (to, msg) => {
        const fate = outgoing(this.cfg, msg);
        if (fate.beyondBounds) outOfBound = true;
        if (fate.inModel) sends.push(this.envelopeId(node, to, msg)); // else about a slot beyond the model (see outgoing in model.ts)
      },
      decided: (decisions) => {
        for (const d of decisions) events.push({ k: 'learned', slot: d.slot, value: d.value });
      },
    });
    if (this.transitions.length >= TRANSITION_LIMIT) throw new RangeError(`more than ${TRANSITION_LIMIT} distinct transitions: the configuration is too large for the checker`);
    const t: Transition = {
      id: this.transitions.length, node, next: this.internNode(node, r, now), sends, events, persisted: ready.persist, outOfBound,
      emitted: ready.persist.length + ready.messages.length + ready.decisions.length,
    };
    this.transitions.push(t);
    return t;
  }

  private internNode(node: NodeId, r: Replica, clock: number): number {
    const key = `${node}#${this.model.replicaFingerprint(r, clock)}`;
    return this.nodeStates.intern(key, () => ({ node, replica: r, clock, timerEnabled: this.model.timerEnabled(r) }));
  }

  private nodeState(sid: number): NodeState {
    return this.nodeStates.at(sid);
  }

  // ---- the ghost ----

  private ghostStep(g: number, t: Transition): number {
    if (t.events.length === 0) return g; // nothing the ghost records: most stale deliveries
    const key = g * TRANSITION_LIMIT + t.id;
    const known = this.ghostMemo.get(key);
    if (known !== undefined) return known;
    const ghost = deepCopy(this.ghostAt(g));
    for (const ev of t.events) {
      switch (ev.k) {
        case 'proposed':
          ghost.proposedValue(ev.value);
          break;
        case 'persisted':
          ghost.persisted(t.node, ev.rec);
          break;
        case 'sent':
          ghost.sent(t.node, ev.msg);
          break;
        case 'learned':
          ghost.learnedBy(t.node, ev.slot, ev.value);
          break;
        case 'recovered':
          ghost.recovered(t.node, ev.replica);
          break;
      }
    }
    let next: number;
    if (ghost.ok) next = this.internGhost(ghost);
    else {
      this.ghostViolations.push(ghost.violations);
      next = -this.ghostViolations.length;
    }
    remember(this.ghostMemo, key, next);
    return next;
  }

  private internGhost(g: SafetyChecker): number {
    return this.ghosts.intern(this.model.ghostFingerprint(g), () => g);
  }

  private ghostAt(g: number): SafetyChecker {
    return this.ghosts.at(g);
  }

  // ---- envelopes and records ----

  private envelopeId(from: NodeId, to: NodeId, msg: Message): number {
    const key = envelopeKey(from, to, msg);
    return this.envelopes.intern(key, () => ({ from, to, msg, key }));
  }

  private envelope(e: number): Envelope {
    return this.envelopes.at(e);
  }

  /**
   * A node's persisted records are read only by a restart, which replays them
   * into the node's durable state; so two lists are the same when a node
   * restarted from either has the same fingerprint (a list that only repeats
   * a record, as an acceptor does when a duplicated accept arrives again,
   * would otherwise make every redelivery a new state, without end). The first
   * list seen stands for all of its kind.
   */
  private internRecords(node: NodeId, list: readonly PersistRecord[]): number {
    if (list.length === 0) return 0;
    const restarted = Replica.start(this.model.replicaConfig(node), 0, list);
    return this.recordLists.intern(`${node}#${this.model.replicaFingerprint(restarted, 0)}`, () => list);
  }

  private appendRecords(recs: number, t: Transition): number {
    const key = recs * TRANSITION_LIMIT + t.id;
    let id = this.appendMemo.get(key);
    if (id === undefined) {
      id = this.internRecords(t.node, [...this.recordLists.at(recs), ...t.persisted]);
      remember(this.appendMemo, key, id);
    }
    return id;
  }

  // ---- reading states back ----

  view(state: string): StateView {
    const replica = (node: NodeId): Replica => this.nodeState(dec2(state, 2 * node)).replica;
    const ghost = this.ghostAt(dec2(state, 2 * this.n));
    const flags = state.charCodeAt(2 * this.n + 2);
    return {
      replica,
      clock: (node: NodeId): number => this.nodeState(dec2(state, 2 * node)).clock,
      ghost,
      controlText: () => {
        const parts: string[] = [];
        for (let id = 0; id < this.n; id++) {
          const ns = this.nodeState(dec2(state, 2 * id));
          parts.push(this.model.replicaFingerprint(ns.replica, ns.clock));
        }
        const proposed = Array.from({ length: this.cfg.proposers }, (_, p) => ((flags & (1 << p)) !== 0 ? '1' : '0')).join('');
        parts.push(proposed, String(flags >>> 8), this.model.projectedGhostText(ghost));
        return parts.join('\n');
      },
    };
  }

  /** The action a code stands for (for paths and traces). */
  action(code: number): Action {
    const arg = code & 0xffffff;
    switch (code >>> 24) {
      case A_PROPOSE:
        return { k: 'propose', node: arg, value: valueOf(arg, this.cfg.values) };
      case A_DELIVER:
      case A_DROP: {
        const e = this.envelope(arg);
        return { k: code >>> 24 === A_DELIVER ? 'deliver' : 'drop', from: e.from, to: e.to, msg: e.msg };
      }
      case A_TIMER:
        return { k: 'timer', node: arg };
      default:
        return { k: 'restart', node: arg };
    }
  }
}

/** Interning: one item per distinct key, numbered densely from 0 in order of first sight. */
class Table<T> {
  private readonly items: T[] = [];
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly what: string,
    private readonly limit = Number.MAX_SAFE_INTEGER,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** The id of `key`, making its item on first sight. */
  intern(key: string, make: () => T): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.items.length;
      if (id >= this.limit) throw new RangeError(`more than ${this.limit} distinct ${this.what}s: the configuration is too large for the checker`);
      this.items.push(make());
      this.ids.set(key, id);
    }
    return id;
  }

  at(id: number): T {
    const item = this.items[id];
    if (item === undefined) throw new RangeError(`no ${this.what} ${id}`);
    return item;
  }
}

/**
 * Stores a memo entry. One V8 Map holds at most 2^24 entries; a memo that
 * fills up is cleared (it only saves work: a transition computed again is the same).
 */
function remember<K, V>(memo: Map<K, V>, key: K, value: V): void {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
}

function enc2(x: number): string {
  return String.fromCharCode(x & 0xffff, x >>> 16);
}

function dec2(s: string, i: number): number {
  return s.charCodeAt(i) + s.charCodeAt(i + 1) * 0x10000;
}

/** Sorted insert; with `set`, an element already present is not added again (the network with duplication). */
function insertSorted(a: number[], x: number, set: boolean): void {
  let i = a.length;
  while (i > 0 && (a[i - 1] ?? 0) > x) i--;
  if (set && i > 0 && a[i - 1] === x) return;
  a.splice(i, 0, x);
}
