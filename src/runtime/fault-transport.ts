/**
 * The seeded fault layer: a Transport that wraps the real one (the
 * MessageChannel mesh) and adds the disorder a real network has and a
 * MessageChannel never does (it is reliable and FIFO): per-link drop, delay,
 * duplicate and reorder, and partitions. It sits on the SENDING side of each
 * replica, so every message crosses exactly one fault layer (its sender's).
 *
 * Decisions come from a SeededRandom per replica (seed mixed with the replica
 * id), so the same seed makes the same decisions for the same sequence of
 * sends; thread timing still varies the sequence, so a worker run is seeded,
 * not replayable event for event (the simulator is the replayable one).
 *
 * Cost when installed but inactive (no faults set): one branch per send.
 * Not installed at all (the cluster's default): zero.
 */
import type { NodeId } from '../paxos/ballot.js';
import type { Wire } from '../paxos/codec.js';
import { SeededRandom } from '../base/random.js';
import { EventQueue, type Timed } from '../base/event-queue.js';
import type { BatchReceiver, Transport, TransportStats } from './transport.js';

/** Faults on one directed link (or on every link). Probabilities in 0..1. */
export interface LinkFaults {
  /** Chance a message is lost. */
  drop?: number;
  /** Each message is held for a uniform delay in [lo, hi] ms (0-0: no delay). Delays also reorder. */
  delay_ms?: readonly [number, number];
  /** Chance a message is delivered twice. */
  duplicate?: number;
  /**
   * Chance a message is overtaken: without delays it swaps with a later message of
   * the same turn to the same peer; with delays it is held one extra `delay_ms[1]`.
   */
  reorder?: number;
}

/** Faults for every link, with per-link overrides (`from` -> `to`, replacing the defaults field by field). */
export interface FaultSpec extends LinkFaults {
  links?: ReadonlyArray<LinkFaults & { from: NodeId; to: NodeId }>;
}

/** What every replica's layer holds: the link faults and the partition (groups that can talk; null: none). */
export interface FaultState {
  spec: FaultSpec;
  partition: NodeId[][] | null;
}

/** Plain data a worker gets at start (cloneable; `pause` shares memory with the main thread). */
export interface FaultInit {
  seed: number;
  state: FaultState;
  /** One Int32 cell: 1 while the main thread wants this replica stalled (see stall()). */
  pause: Int32Array;
}

export type FaultCommand = { kind: 'set'; state: FaultState } | { kind: 'stall'; ms: number } | { kind: 'stats' };

export interface FaultStats {
  dropped: number;
  /** Dropped because sender and receiver were on different sides of a partition. */
  partitioned: number;
  duplicated: number;
  delayed: number;
  reordered: number;
  /** Delayed messages waiting now, and the most ever waiting. */
  held: number;
  held_high_water: number;
  /** Delayed messages dropped because the hold queue was full (the bound, reported). */
  held_overflow: number;
  stalls: number;
  stalled_ms: number;
}

/** Delayed messages held per replica at most; past this a delayed message is dropped (and counted). */
export const MAX_HELD = 65_536;
/** The longest delay or stall accepted: a fault, not a way to park a replica forever. */
export const MAX_FAULT_MS = 60_000;

const prob = (name: string, v: unknown): void => {
  if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 1))) throw new RangeError(`faults.${name} must be a probability in 0..1, got ${String(v)}`);
};

function checkLink(where: string, l: LinkFaults): void {
  prob(`${where}drop`, l.drop);
  prob(`${where}duplicate`, l.duplicate);
  prob(`${where}reorder`, l.reorder);
  const d = l.delay_ms;
  if (d !== undefined) {
    if (!Array.isArray(d) || d.length !== 2 || !d.every((x) => typeof x === 'number' && x >= 0 && x <= MAX_FAULT_MS) || (d[0] as number) > (d[1] as number)) {
      throw new RangeError(`faults.${where}delay_ms must be [lo, hi] with 0 <= lo <= hi <= ${MAX_FAULT_MS}, got ${JSON.stringify(d)}`);
    }
  }
}

/** Throws a one-line RangeError for a bad spec; returns a plain copy (safe to clone into workers). */
export function checkFaultSpec(spec: FaultSpec, nodes: number): FaultSpec {
  if (typeof spec !== 'object' || spec === null) throw new TypeError('faults must be an object');
  checkLink('', spec);
  const links = spec.links ?? [];
  links.forEach((l, k) => {
    for (const end of ['from', 'to'] as const) {
      const v = l[end];
      if (!Number.isInteger(v) || v < 0 || v >= nodes) throw new RangeError(`faults.links[${k}].${end} must be a replica in 0..${nodes - 1}, got ${String(v)}`);
    }
    checkLink(`links[${k}].`, l);
  });
  const out: FaultSpec = {};
  if (spec.drop !== undefined) out.drop = spec.drop;
  if (spec.duplicate !== undefined) out.duplicate = spec.duplicate;
  if (spec.reorder !== undefined) out.reorder = spec.reorder;
  if (spec.delay_ms !== undefined) out.delay_ms = [spec.delay_ms[0], spec.delay_ms[1]];
  if (links.length > 0) out.links = links.map((l) => ({ ...l, ...(l.delay_ms === undefined ? {} : { delay_ms: [l.delay_ms[0], l.delay_ms[1]] as const }) }));
  return out;
}

/** Throws for groups that are not disjoint sets of replica ids. */
export function checkPartition(groups: ReadonlyArray<ReadonlyArray<NodeId>>, nodes: number): NodeId[][] {
  if (!Array.isArray(groups)) throw new TypeError('partition needs an array of groups, e.g. [[0], [1, 2]]');
  const seen = new Set<NodeId>();
  return groups.map((g) => {
    if (!Array.isArray(g)) throw new TypeError('each partition group must be an array of replica ids');
    return g.map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= nodes) throw new RangeError(`partition: replica must be in 0..${nodes - 1}, got ${String(id)}`);
      if (seen.has(id)) throw new RangeError(`partition: replica ${id} is in two groups`);
      seen.add(id);
      return id;
    });
  });
}

interface Link {
  drop: number;
  delayLo: number;
  delayHi: number;
  duplicate: number;
  reorder: number;
  blocked: boolean;
}

/** A delayed message, released at `at` (ms on this thread's clock). */
interface Held extends Timed {
  to: NodeId;
  wire: Wire;
}

export function emptyFaultStats(): FaultStats {
  return { dropped: 0, partitioned: 0, duplicated: 0, delayed: 0, reordered: 0, held: 0, held_high_water: 0, held_overflow: 0, stalls: 0, stalled_ms: 0 };
}

export class FaultyTransport implements Transport {
  readonly faults: FaultStats = emptyFaultStats();
  private readonly random: SeededRandom;
  private links: Link[] = [];
  private active = false;
  /** This turn's messages per peer, when reordering is on (shuffled at flush). */
  private readonly turn: Wire[][];
  /** Delayed messages by release time, bounded by MAX_HELD. */
  private readonly held = new EventQueue<Held>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly inner: Transport,
    private readonly nodes: number,
    init: Omit<FaultInit, 'pause'>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.random = new SeededRandom((init.seed * 40_503 + inner.id * 7_919 + 1) | 0);
    this.turn = Array.from({ length: nodes }, () => []);
    this.apply(init.state);
  }

  get id(): NodeId {
    return this.inner.id;
  }

  get stats(): TransportStats {
    return this.inner.stats;
  }

  setReceiver(fn: BatchReceiver): void {
    this.inner.setReceiver(fn);
  }

  /** Replaces the link faults and partition (from the main thread's `cluster.faults`). */
  apply(state: FaultState): void {
    const s = state.spec;
    const group = new Map<NodeId, number>();
    state.partition?.forEach((g, k) => g.forEach((id) => group.set(id, k)));
    const me = this.inner.id;
    // A replica named in no group is cut off from everyone (its own group).
    const side = (id: NodeId): number => group.get(id) ?? -1 - id;
    this.links = Array.from({ length: this.nodes }, (_, to) => {
      const o: LinkFaults = s.links?.filter((l) => l.from === me && l.to === to).at(-1) ?? {};
      const d = o.delay_ms ?? s.delay_ms ?? [0, 0];
      return {
        drop: o.drop ?? s.drop ?? 0,
        delayLo: d[0],
        delayHi: d[1],
        duplicate: o.duplicate ?? s.duplicate ?? 0,
        reorder: o.reorder ?? s.reorder ?? 0,
        blocked: state.partition !== null && side(me) !== side(to),
      };
    });
    this.active = this.links.some((l) => l.blocked || l.drop > 0 || l.delayHi > 0 || l.duplicate > 0 || l.reorder > 0);
  }

  send(to: NodeId, wire: Wire): void {
    if (!this.active) return this.inner.send(to, wire);
    const link = this.links[to];
    if (link === undefined) return this.inner.send(to, wire); // the inner transport counts it unroutable
    if (link.blocked) {
      this.faults.partitioned++;
      return;
    }
    if (link.drop > 0 && this.random.chance(link.drop)) {
      this.faults.dropped++;
      return;
    }
    const copies = link.duplicate > 0 && this.random.chance(link.duplicate) ? 2 : 1;
    if (copies === 2) this.faults.duplicated++;
    for (let c = 0; c < copies; c++) {
      let delay = link.delayHi > 0 ? this.random.between(link.delayLo, link.delayHi) : 0;
      if (delay > 0) {
        // With delays on, a reordered message is held one full delay longer, so later ones overtake it.
        if (link.reorder > 0 && this.random.chance(link.reorder)) {
          delay += link.delayHi;
          this.faults.reordered++;
        }
        this.hold(to, wire, delay);
      } else if (link.reorder > 0) (this.turn[to] as Wire[]).push(wire);
      else this.inner.send(to, wire);
    }
  }

  private hold(to: NodeId, wire: Wire, delay_ms: number): void {
    if (this.held.size >= MAX_HELD) {
      this.faults.held_overflow++;
      return;
    }
    this.faults.delayed++;
    this.held.push({ at: this.now() + delay_ms, to, wire });
    if (this.held.size > this.faults.held_high_water) this.faults.held_high_water = this.held.size;
    this.arm();
  }

  flush(): void {
    if (this.active) this.flushTurn();
    this.inner.flush();
  }

  private flushTurn(): void {
    for (let to = 0; to < this.turn.length; to++) {
      const buf = this.turn[to] as Wire[];
      if (buf.length === 0) continue;
      const link = this.links[to] as Link;
      for (let i = 0; i < buf.length - 1; i++) {
        if (!this.random.chance(link.reorder)) continue;
        const j = this.random.int(i + 1, buf.length - 1);
        const t = buf[i] as Wire;
        buf[i] = buf[j] as Wire;
        buf[j] = t;
        this.faults.reordered++;
      }
      for (const w of buf) this.inner.send(to, w);
      buf.length = 0;
    }
  }

  private arm(): void {
    const first = this.held.peek();
    if (first === undefined || this.closed || first.at >= this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = first.at;
    this.timer = setTimeout(this.release, Math.max(0, first.at - this.now()));
  }

  private readonly release = (): void => {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    let sent = 0;
    for (let h = this.held.peek(); h !== undefined && h.at <= now; h = this.held.peek()) {
      this.held.pop();
      // A partition made while the message was in flight also cuts it.
      if (this.links[h.to]?.blocked === true) this.faults.partitioned++;
      else {
        this.inner.send(h.to, h.wire);
        sent++;
      }
    }
    if (sent > 0) this.inner.flush();
    this.arm();
  };

  report(): FaultStats {
    return { ...this.faults, held: this.held.size };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.held.clear();
    this.inner.close();
  }
}

/**
 * Stalls this thread (its event loop: no messages, timers or replies) for up
 * to `ms`, or until the main thread clears the cell (resume). Atomics.wait
 * sleeps, so a paused replica burns no CPU on a shared 2-core machine.
 */
export function stall(pause: Int32Array, ms: number, stats: FaultStats): void {
  const t0 = performance.now();
  Atomics.wait(pause, 0, 1, ms);
  Atomics.store(pause, 0, 0);
  stats.stalls++;
  stats.stalled_ms += performance.now() - t0;
}

/** The worker side of `cluster.faults`: one control-plane call per command. */
export function handleFaultCommand(t: FaultyTransport | null, pause: Int32Array | undefined, cmd: FaultCommand): FaultStats | null {
  if (t === null || pause === undefined) throw new Error('this replica was started without the fault layer');
  switch (cmd.kind) {
    case 'set':
      t.apply(cmd.state);
      return null;
    case 'stall':
      stall(pause, cmd.ms, t.faults);
      return null;
    case 'stats':
      return t.report();
  }
}
