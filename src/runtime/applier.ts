/**
 * Turns the replica's decisions (which may arrive out of slot order) into the
 * applied log, in slot order, dropping no-ops and any request id applied
 * before (a retried request decided twice is applied once). With a state
 * machine, each fresh command is applied to it here, and its result is kept
 * per request id as long as the id is (the dedupe window), so a retry gets
 * the result the first application gave, on whichever replica it lands.
 * Read barriers (reads through the log, per-slot policies) change nothing:
 * they tell the host that every slot before them is applied.
 *
 * Snapshot points: after the slot at which the commands applied since slot 0
 * cross a multiple of `snapshotEvery` (or the slot index one of
 * SNAPSHOT_SLOTS_MAX, for logs of no-ops), the applier calls `onPoint` before
 * it applies the next slot, so the state captured there is a function of the
 * log alone, and every replica captures the same one at the same slot.
 */
import { commandsOf, isBatch } from '../paxos/batch.js';
import type { Decision } from '../paxos/replica.js';
import { READ_BARRIER_PREFIX } from './client-wire.js';
import type { ApplierSnapshot, StreamState } from './snapshot-codec.js';
import type { StateMachineRunner } from './state-machine.js';
import { WindowCapture, type WindowEntry } from './window-capture.js';

export interface Applied {
  slot: number;
  requestId: string;
  payload: string;
  /** The encoded result (client-wire.ts) with a state machine, else null. */
  result: string | null;
}

export interface ApplierHooks {
  /** Applies every fresh command, and keeps the results of client requests for retries. */
  machine?: StateMachineRunner | null;
  /** A read barrier was reached in `slot`: every slot before it is applied. */
  onReadBarrier?: (slot: number, requestId: string) => void;
  /** Where snapshots are taken (null: none). */
  snapshots?: SnapshotSchedule | null;
}

export interface ApplierStats {
  applied: number;
  duplicates: number;
  noops: number;
  /** Slots whose value was a batch of commands (each command is counted in applied or duplicates). */
  batches: number;
  /** Batches that did not parse (none unless a value was corrupted): skipped whole, on every replica alike. */
  malformed_batches: number;
  /** Slots applied so far: every slot below this one is applied. */
  next_slot: number;
  /** Reads through the log reached (on every replica; answered by the one that asked). */
  read_barriers: number;
}

/**
 * Load-generator ids are `~<stream>.<seq>` (`~` never starts a nanoid), with
 * seqs counted up per stream. They are deduplicated in O(gaps) memory: every
 * seq below `low` was applied (or given up on), plus the applied ones above
 * it. A stream whose gaps pass STREAM_GAPS_MAX gives up on its oldest gap (a
 * proposal that was refused or is long lost): if it is decided later it
 * counts as a duplicate, on every replica alike, since this is a function of
 * the log. So a run of millions of load proposals keeps a flat heap, where a
 * Map of every id would grow to its window.
 */
const STREAM_GAPS_MAX = 65_536;
const READ_BARRIER = READ_BARRIER_PREFIX.charCodeAt(0);

/**
 * Client request ids remembered for dedupe: a request decided again after this
 * many other requests were applied is applied again (README, "Exactly once").
 */
export const DEFAULT_DEDUPE_WINDOW = 1_000_000;
/** The readable log (`decidedLog`) is cut to this many characters of values once it holds twice that (16 Mi). */
export const DEFAULT_LOG_CHARS = 16 * 1024 * 1024;

interface Stream {
  low: number;
  above: Set<number>;
}

/**
 * A snapshot at least every this many slots, whatever the command count (a
 * log of no-ops and duplicates applies no command): the core holds at most
 * 2^20 slots above its forgotten mark (slot-window.ts), which a snapshot moves.
 */
export const SNAPSHOT_SLOTS_MAX = 1 << 18;

export interface SnapshotSchedule {
  /** Commands between snapshots (0: none). */
  every: number;
  /** A snapshot point: every slot below `index` is applied, and nothing above. */
  onPoint(index: number): void;
}

export class Applier {
  readonly stats: ApplierStats = { applied: 0, duplicates: 0, noops: 0, batches: 0, malformed_batches: 0, next_slot: 0, read_barriers: 0 };
  private readonly early = new Map<number, string>();
  /** Read barriers a restored snapshot went past before they were applied: [slot, request id], answered by drain(). */
  private coveredBarriers: Array<[number, string]> = [];
  /** Request id -> slot it was applied in; oldest evicted beyond `dedupeWindow`. */
  private readonly appliedIds = new Map<string, number>();
  /** Request id -> encoded result (state machine only), evicted with the id. */
  private readonly results = new Map<string, string>();
  private machine: StateMachineRunner | null;
  private readonly onReadBarrier: (slot: number, requestId: string) => void;
  /** The decided log (raw values, '' for no-ops): the last `retain` slots, fewer past `retain_chars` characters; cut when it holds twice either. */
  private log: string[] = [];
  private logBase = 0;
  /** Characters of the values in `log`. */
  private logChars = 0;
  /** Applied request ids in apply order, for eviction beyond `dedupeWindow`. */
  private ring: string[] = [];
  private ringAt = 0;
  private readonly streams = new Map<string, Stream>();
  /** The stream of the last load id, its `~key` prefix and where its dot is (see firstInStream). */
  private lastStream: Stream | null = null;
  private lastStreamPrefix = '';
  private lastStreamEnd = -1;
  /** Commands applied since slot 0 (carried in snapshots: it places the snapshot points). */
  private commandsTotal = 0;
  private nextPointAt = Number.POSITIVE_INFINITY;
  /** The dedupe window of a snapshot being encoded (it is told of each eviction), or null. */
  private capture: WindowCapture | null = null;
  private readonly snapshots: SnapshotSchedule | null;

  constructor(
    private readonly onApply: (a: Applied) => void,
    private readonly dedupeWindow = DEFAULT_DEDUPE_WINDOW,
    // The decided log a caller can read back; 100k slots bound the heap of a long run (the core keeps its own 10k),
    // and 16 Mi characters bound it when slots are large (100k batches of 512 commands held over a GB).
    private readonly retain = 100_000,
    hooks: ApplierHooks = {},
    private readonly retain_chars = DEFAULT_LOG_CHARS,
  ) {
    this.machine = hooks.machine ?? null;
    this.onReadBarrier = hooks.onReadBarrier ?? (() => {});
    this.snapshots = hooks.snapshots ?? null;
    this.placeNextPoint();
  }

  private placeNextPoint(): void {
    const every = this.snapshots?.every ?? 0;
    this.nextPointAt = every > 0 ? (Math.floor(this.commandsTotal / every) + 1) * every : Number.POSITIVE_INFINITY;
  }

  /** The state machine commands are applied to from now on (a snapshot was restored into a fresh one). */
  replaceMachine(machine: StateMachineRunner | null): void {
    this.machine = machine;
  }

  /** True if the request was applied (and is still remembered): a client id, or a load id (`~stream.seq`). */
  knows(requestId: string): boolean {
    if (requestId.charCodeAt(0) !== 126 /* ~ */) return this.appliedIds.has(requestId);
    const dot = requestId.lastIndexOf('.');
    const st = this.streams.get(requestId.slice(1, dot));
    const seq = Number(requestId.slice(dot + 1));
    return st !== undefined && (seq < st.low || st.above.has(seq));
  }

  /** True if `command` (`requestId:payload`, one command of a slot's value) was applied: a snapshot installed holds it. */
  holdsCommand(command: string): boolean {
    const i = command.indexOf(':');
    return i > 0 && this.knows(command.slice(0, i));
  }

  /** The slot a request was applied in, if it was (and is still remembered). */
  slotOf(requestId: string): number | undefined {
    return this.appliedIds.get(requestId);
  }

  /** The encoded result a request's command gave (state machine only), while its id is remembered. */
  resultOf(requestId: string): string | undefined {
    return this.results.get(requestId);
  }

  learned(decisions: readonly Decision[]): void {
    for (const d of decisions) {
      // Fast path: the next slot, nothing parked (the common case with a stable leader).
      if (d.slot === this.stats.next_slot && this.early.size === 0) this.next(d.slot, d.value);
      else if (d.slot >= this.stats.next_slot) this.early.set(d.slot, d.value);
    }
    while (this.early.size > 0) {
      const slot = this.stats.next_slot;
      const value = this.early.get(slot);
      if (value === undefined) return;
      this.early.delete(slot);
      this.next(slot, value);
    }
  }

  private next(slot: number, value: string): void {
    this.stats.next_slot++;
    this.record(value);
    this.applySlot(slot, value);
    if (this.snapshots === null) return;
    if (this.commandsTotal >= this.nextPointAt || (slot + 1) % SNAPSHOT_SLOTS_MAX === 0) {
      this.placeNextPoint();
      this.snapshots.onPoint(slot + 1);
    }
  }

  private applySlot(slot: number, value: string): void {
    if (!isBatch(value)) return this.apply(slot, value);
    // A leader's batch: each command applied in order, deduplicated on its own request id.
    const commands = commandsOf(value);
    if (commands === null) return void this.stats.malformed_batches++;
    this.stats.batches++;
    for (const c of commands) this.apply(slot, c);
  }

  private record(value: string): void {
    this.log.push(value);
    this.logChars += value.length;
    if (this.log.length > 2 * this.retain || this.logChars > 2 * this.retain_chars) this.trimLog();
  }

  /** Amortized: keeps the last `retain` slots, fewer if they hold more than `retain_chars` characters (the last slot stays). */
  private trimLog(): void {
    let cut = Math.max(0, this.log.length - this.retain);
    let chars = this.logChars;
    for (let i = 0; i < cut; i++) chars -= (this.log[i] as string).length;
    for (; cut < this.log.length - 1 && chars > this.retain_chars; cut++) chars -= (this.log[cut] as string).length;
    this.log = this.log.slice(cut);
    this.logBase += cut;
    this.logChars = chars;
  }

  private apply(slot: number, value: string): void {
    const i = value.indexOf(':');
    if (i <= 0) {
      this.stats.noops++;
      return;
    }
    const requestId = value.slice(0, i);
    const first = requestId.charCodeAt(0);
    if (first === READ_BARRIER) {
      this.stats.read_barriers++;
      return this.onReadBarrier(slot, requestId);
    }
    const load = first === 126; /* ~ */
    const fresh = load ? this.firstInStream(requestId) : this.firstById(requestId, slot);
    if (!fresh) {
      this.stats.duplicates++;
      return;
    }
    this.stats.applied++;
    this.commandsTotal++;
    const payload = value.slice(i + 1);
    const result = this.machine === null ? null : this.machine.apply(payload);
    // Load-generator commands are never retried: their results are not kept.
    if (result !== null && !load) this.results.set(requestId, result);
    this.onApply({ slot, requestId, payload, result });
  }

  /** True the first time a load id is seen (see Stream). Ids not of the form `~stream.seq` fall back to the id map. */
  private firstInStream(requestId: string): boolean {
    // The seq: the digits after the last dot, read in place (this runs once per applied load command).
    let seq = 0;
    let scale = 1;
    let dot = requestId.length - 1;
    for (; dot > 1; dot--) {
      const d = requestId.charCodeAt(dot) - 48;
      if (d < 0 || d > 9) break;
      seq += d * scale;
      scale *= 10;
    }
    if (dot < 2 || scale === 1 || scale > 1e15 || requestId.charCodeAt(dot) !== 46 /* . */) return this.firstById(requestId, -1);
    // Consecutive ids almost always share a stream: reuse it while the prefix matches (no slice, no lookup).
    let st = this.lastStream;
    if (st === null || this.lastStreamEnd !== dot || !requestId.startsWith(this.lastStreamPrefix)) {
      const key = requestId.slice(1, dot);
      st = this.streams.get(key) ?? null;
      if (st === null) this.streams.set(key, (st = { low: 0, above: new Set() }));
      this.lastStream = st;
      this.lastStreamPrefix = requestId.slice(0, dot);
      this.lastStreamEnd = dot;
    }
    if (seq < st.low || st.above.has(seq)) return false;
    if (seq === st.low) {
      st.low++;
      while (st.above.delete(st.low)) st.low++;
    } else {
      st.above.add(seq);
      if (st.above.size > STREAM_GAPS_MAX) {
        let min = Number.POSITIVE_INFINITY;
        for (const x of st.above) if (x < min) min = x;
        st.low = min;
        while (st.above.delete(st.low)) st.low++;
      }
    }
    return true;
  }

  /** True the first time a client request id is seen within the last `dedupeWindow` ids. */
  private firstById(requestId: string, slot: number): boolean {
    if (this.appliedIds.has(requestId)) return false;
    this.appliedIds.set(requestId, slot);
    // Evict the oldest id through a ring of ids: a Map iterator from the front would walk the
    // holes that deletions leave, which made eviction O(holes) per decision.
    const ring = this.ring;
    if (ring.length < this.dedupeWindow) ring.push(requestId);
    else {
      const old = ring[this.ringAt] as string;
      this.capture?.evicting(this.entryOf(old));
      ring[this.ringAt] = requestId;
      this.ringAt = (this.ringAt + 1) % this.dedupeWindow;
      if (this.appliedIds.get(old) !== undefined) this.appliedIds.delete(old);
      this.results.delete(old);
    }
    return true;
  }

  /**
   * The state a snapshot holds, captured now (snapshot-codec.ts): the applied
   * index, the command count and the load streams copied (small), the dedupe
   * window as a copy-on-write capture (read while applying goes on). One
   * capture at a time: `releaseCapture` when it has been read.
   */
  captureState(): { index: number; commands_total: number; window: WindowCapture; streams: Map<string, StreamState> } {
    const n = this.ring.length;
    // Oldest first: a full ring's oldest id is where the next one goes.
    const start = n < this.dedupeWindow ? 0 : this.ringAt;
    this.capture = new WindowCapture(n, start, this.dedupeWindow, this.ring, (id) => this.entryOf(id));
    const streams = new Map<string, StreamState>();
    for (const [key, st] of this.streams) streams.set(key, { low: st.low, above: [...st.above].sort((a, b) => a - b) });
    return { index: this.stats.next_slot, commands_total: this.commandsTotal, window: this.capture, streams };
  }

  releaseCapture(): void {
    this.capture = null;
  }

  /** A window entry: its id, the slot it was applied in, its cached result (with a state machine). */
  private entryOf(id: string): WindowEntry {
    return [id, this.appliedIds.get(id) as number, this.results.get(id)];
  }

  /** The state a snapshot holds, read whole now (tests, tools). */
  exportState(): ApplierSnapshot {
    const c = this.captureState();
    const ids: string[] = [];
    const slots: number[] = [];
    const results: (string | undefined)[] = [];
    while (!c.window.done) {
      const [id, slot, result] = c.window.next();
      ids.push(id);
      slots.push(slot);
      results.push(result);
    }
    this.releaseCapture();
    return { index: c.index, commands_total: c.commands_total, ids, slots, results, streams: c.streams };
  }

  /**
   * Replaces the applied state by a snapshot's: every slot below its index is
   * applied. Decisions parked above it stay; the readable log starts there.
   */
  restoreState(a: ApplierSnapshot): void {
    this.capture = null;
    this.stats.next_slot = a.index;
    this.commandsTotal = a.commands_total;
    this.placeNextPoint();
    for (const [slot, value] of [...this.early]) {
      if (slot >= a.index) continue;
      this.early.delete(slot);
      // A read barrier parked below the snapshot: the restored state is past it, so its read is answered (by drain).
      if (value.charCodeAt(0) === READ_BARRIER) this.coveredBarriers.push([slot, value.slice(0, value.indexOf(':'))]);
    }
    this.log = [];
    this.logChars = 0;
    this.logBase = a.index;
    this.appliedIds.clear();
    this.results.clear();
    this.ring = [];
    this.ringAt = 0;
    // A snapshot taken with a wider window keeps its newest ids here.
    const from = Math.max(0, a.ids.length - this.dedupeWindow);
    for (let k = from; k < a.ids.length; k++) {
      const id = a.ids[k] as string;
      this.appliedIds.set(id, a.slots[k] as number);
      const result = a.results[k];
      if (result !== undefined) this.results.set(id, result);
      this.ring.push(id);
    }
    this.streams.clear();
    for (const [key, st] of a.streams) this.streams.set(key, { low: st.low, above: new Set(st.above) });
    this.lastStream = null;
    this.lastStreamPrefix = '';
    this.lastStreamEnd = -1;
  }

  /**
   * Drains parked decisions that a restore made next, and answers the read
   * barriers the snapshot went past (call after restoreState, once the
   * restored state machine is the one queried).
   */
  drain(): void {
    const covered = this.coveredBarriers;
    this.coveredBarriers = [];
    for (const [slot, requestId] of covered) {
      this.stats.read_barriers++;
      this.onReadBarrier(slot, requestId);
    }
    this.learned([]);
  }

  /** Decided values (raw, '' for a no-op) of slots [from, from + count) still retained. */
  decidedLog(from = 0, count = Number.POSITIVE_INFINITY): { from: number; values: string[] } {
    const start = Math.max(from, this.logBase);
    const end = Math.min(this.logBase + this.log.length, start + count);
    return { from: start, values: this.log.slice(start - this.logBase, Math.max(start, end) - this.logBase) };
  }
}
