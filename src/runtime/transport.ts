/**
 * How replica messages travel. A transport buffers what `send` gets, per peer,
 * and posts each peer's buffer as ONE flat envelope of frames when `flush` is
 * called (once per actor turn) or when a buffer reaches `maxBatch` messages
 * (so the buffers stay bounded). Flat, because structured clone copies a flat
 * array of numbers and strings about twice as fast as an array of arrays:
 * profiling the leader showed postMessage as its largest cost with nested
 * batches. Incoming envelopes go to the receiver unvalidated: the driver splits
 * them (`forEachTuple`) and decodes every tuple (the codec is the validation
 * boundary; framing only says where tuples start and end).
 *
 * Frames:
 * - `len, ...tuple`: one tuple of `len` (>= 1) fields;
 * - `-k, width, f0, s, f2, ...tails`: a run, k tuples of `width` (3..8) fields,
 *   the i-th (from 0) being `[f0, s + i, f2, ...tails[i]]`, each tail `width - 3`
 *   fields. A stable leader's accepts to a follower in one turn (same tag, same
 *   ballot, slots counting up) and the follower's answers are such runs: 64
 *   accepts travel as 69 elements instead of 320, and 64 answers as 5 instead
 *   of 256, which halves what structured clone copies each way. The framing
 *   knows no message types: any consecutive tuples of that shape form a run.
 */
import type { NodeId } from '../paxos/ballot.js';
import type { Wire } from '../paxos/codec.js';

export type BatchReceiver = (from: NodeId, batch: unknown) => void;

/** A peer's batch on the wire: frames, see above. */
export type Envelope = (number | string)[];

/** Fields of a tuple that may be part of a run, at least and at most. */
export const RUN_WIDTH_MIN = 3;
export const RUN_WIDTH_MAX = 8;
/** Tuples in one run at most: a sender starts another run past it, a receiver refuses a longer one (a frame of 5 numbers must not stand for millions of tuples). */
export const RUN_MAX = 4096;
/**
 * Tuples in one envelope at most (the default mailbox capacity): RUN_MAX bounds a frame, this bounds the
 * frames together (1,000 runs of 5 elements must not stand for 4 million tuples). An outbox's maxBatch is
 * at most this, so a sender never posts more.
 */
export const MAX_ENVELOPE_TUPLES = 65_536;

/**
 * Calls `each` with every tuple of an envelope, in order. Returns null, or the
 * reason the envelope is malformed (then the rest of it is dropped: its
 * framing can no longer be trusted).
 */
export function forEachTuple(env: unknown, each: (tuple: unknown[]) => void): string | null {
  if (!Array.isArray(env)) return 'envelope is not an array';
  let tuples = 0;
  for (let i = 0; i < env.length; ) {
    const n: unknown = env[i];
    if (typeof n === 'number' && n < 0) {
      const end = forEachInRun(env, i, MAX_ENVELOPE_TUPLES - tuples, each);
      if (typeof end === 'string') return end;
      tuples -= n; // validated: a whole k
      i = end;
      continue;
    }
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || i + 1 + n > env.length) return `bad tuple length at ${i}`;
    if (++tuples > MAX_ENVELOPE_TUPLES) return `too many tuples at ${i}`;
    each(env.slice(i + 1, i + 1 + n));
    i += 1 + n;
  }
  return null;
}

/** The run frame at `at`: its tuples to `each`, and the index after it; or why it is malformed (then nothing of it was handed on). */
function forEachInRun(env: readonly unknown[], at: number, room: number, each: (tuple: unknown[]) => void): number | string {
  const k = -(env[at] as number);
  const width: unknown = env[at + 1];
  const first: unknown = env[at + 3];
  if (!Number.isInteger(k) || k > RUN_MAX) return `bad run length at ${at}`;
  if (typeof width !== 'number' || !Number.isInteger(width) || width < RUN_WIDTH_MIN || width > RUN_WIDTH_MAX) return `bad run width at ${at}`;
  const end = at + 5 + k * (width - 3);
  if (at + 5 > env.length || end > env.length) return `run past the end at ${at}`;
  if (typeof first !== 'number' || !Number.isSafeInteger(first) || !Number.isSafeInteger(first + k)) return `bad run start at ${at}`;
  if (k > room) return `too many tuples at ${at}`;
  const f0: unknown = env[at + 2];
  const f2: unknown = env[at + 4];
  const tail = width - 3;
  for (let j = 0, p = at + 5; j < k; j++, p += tail) each(runTuple(env, p, tail, f0, j === 0 ? first : first + j, f2)); // j === 0: a first field of -0 stays -0
  return end;
}

/** One tuple of a run, allocated at its final length (a literal grown by push reallocates its backing store). */
function runTuple(env: readonly unknown[], p: number, tail: number, f0: unknown, s: number, f2: unknown): unknown[] {
  switch (tail) {
    case 0:
      return [f0, s, f2];
    case 1:
      return [f0, s, f2, env[p]];
    case 2:
      return [f0, s, f2, env[p], env[p + 1]];
    default: {
      const t: unknown[] = [f0, s, f2, env[p], env[p + 1], env[p + 2]];
      for (let q = 3; q < tail; q++) t.push(env[p + q]);
      return t;
    }
  }
}

export interface TransportStats {
  messages_sent: number;
  /** Estimated payload: 8 bytes per number, 1 per string character (structured clone adds framing). */
  bytes_sent: number;
  batches_sent: number;
  /** Sends to a peer with no link (down, or not wired yet): dropped. */
  unroutable: number;
}

export interface Transport {
  readonly id: NodeId;
  readonly stats: TransportStats;
  setReceiver(fn: BatchReceiver): void;
  send(to: NodeId, wire: Wire): void;
  flush(): void;
  close(): void;
}

export const DEFAULT_MAX_BATCH = 1024;

/** A tuple that may start a run: its width in range, and a second field that can count up (safe at the run's last + 1). */
function runnable(wire: Wire): boolean {
  const s = wire[1];
  return wire.length >= RUN_WIDTH_MIN && wire.length <= RUN_WIDTH_MAX && typeof s === 'number' && Number.isSafeInteger(s) && s < Number.MAX_SAFE_INTEGER;
}

export function emptyTransportStats(): TransportStats {
  return { messages_sent: 0, bytes_sent: 0, batches_sent: 0, unroutable: 0 };
}

/**
 * Per-peer outgoing buffers with the bound and the accounting both transports
 * share. With `reuse` (a post that copies the envelope before it returns, as
 * postMessage does) each peer's array is kept and refilled from the start
 * next turn, instead of a new array grown push by push every turn (a busy
 * leader's largest allocation after the protocol's own objects).
 */
export class Outbox {
  readonly stats = emptyTransportStats();
  private readonly buffers: Envelope[];
  /** Elements written to each peer's buffer this turn (its array may be longer: a longer envelope's leftovers). */
  private readonly lengths: number[];
  /** Messages in each peer's buffer. */
  private readonly counts: number[];
  /** Estimated payload bytes in each peer's buffer (counted when posted). */
  private readonly pendingBytes: number[];
  private readonly dirty: NodeId[] = [];
  /** Where each peer's last frame starts, if a next tuple could extend it into a run; -1 if not. */
  private readonly lastAt: number[];
  /** The second field a tuple needs to extend that frame. */
  private readonly nextInRun: number[];

  constructor(
    nodes: number,
    private readonly maxBatch: number,
    private readonly post: (to: NodeId, envelope: Envelope, messages: number) => boolean,
    private readonly reuse = false,
  ) {
    if (maxBatch > MAX_ENVELOPE_TUPLES) throw new RangeError(`maxBatch must be at most ${MAX_ENVELOPE_TUPLES} (a receiver refuses a larger envelope), got ${maxBatch}`);
    this.buffers = Array.from({ length: nodes }, () => []);
    this.lengths = Array.from({ length: nodes }, () => 0);
    this.counts = Array.from({ length: nodes }, () => 0);
    this.pendingBytes = Array.from({ length: nodes }, () => 0);
    this.lastAt = Array.from({ length: nodes }, () => -1);
    this.nextInRun = Array.from({ length: nodes }, () => 0);
  }

  add(to: NodeId, wire: Wire): void {
    const buf = this.buffers[to];
    if (buf === undefined) {
      this.stats.unroutable++;
      return;
    }
    const count = this.counts[to] ?? 0;
    if (count === 0) this.dirty.push(to);
    const extended = this.extendsRun(to, buf, wire);
    let n = this.lengths[to] ?? 0;
    let bytes = 0;
    let from = 0;
    if (extended) {
      from = 3; // the run's frame holds the first three fields: only the tail travels
      this.nextInRun[to] = (wire[1] as number) + 1;
    } else if (runnable(wire)) {
      this.lastAt[to] = n;
      this.nextInRun[to] = (wire[1] as number) + 1;
      buf[n++] = wire.length;
    } else {
      this.lastAt[to] = -1; // nextInRun keeps numbers only: a string there (a Submit's value) would make the array generic
      buf[n++] = wire.length;
    }
    for (let i = from; i < wire.length; i++) {
      const f = wire[i] as number | string;
      buf[n++] = f;
      bytes += typeof f === 'number' ? 8 : f.length;
    }
    this.lengths[to] = n;
    this.pendingBytes[to] = (this.pendingBytes[to] ?? 0) + bytes;
    this.counts[to] = count + 1;
    if (count + 1 >= this.maxBatch) this.flushPeer(to);
  }

  /**
   * True when `wire` continues the peer's last frame as a run (same width, first and third field, second
   * field one more); that frame then counts `wire` too, and only its tail is left to write.
   */
  private extendsRun(to: NodeId, buf: Envelope, wire: Wire): boolean {
    const at = this.lastAt[to] ?? -1;
    if (at < 0 || !Object.is(wire[1], this.nextInRun[to]) || !runnable(wire)) return false; // Object.is: a second field of -0 after -1 would come back as 0
    const header = buf[at] as number;
    const base = header < 0 ? at + 1 : at; // where the width is, in a run frame or a lone tuple's
    if (buf[base] !== wire.length || !Object.is(buf[base + 1], wire[0]) || !Object.is(buf[base + 3], wire[2])) return false;
    if (header < 0) {
      if (-header >= RUN_MAX) return false;
      buf[at] = header - 1;
      return true;
    }
    // A lone tuple and this one become a run of two: the lone one's fields move up by one for the count.
    const n = this.lengths[to] ?? 0;
    for (let i = n; i > at; i--) buf[i] = buf[i - 1] as number | string;
    buf[at] = -2;
    this.lengths[to] = n + 1;
    return true;
  }

  flush(): void {
    for (const to of this.dirty) this.flushPeer(to);
    this.dirty.length = 0;
  }

  private flushPeer(to: NodeId): void {
    const buf = this.buffers[to];
    const count = this.counts[to] ?? 0;
    if (buf === undefined || count === 0) return;
    const bytes = this.pendingBytes[to] ?? 0;
    const n = this.lengths[to] ?? 0;
    if (buf.length !== n) buf.length = n;
    if (!this.reuse) this.buffers[to] = [];
    this.lengths[to] = 0;
    this.lastAt[to] = -1;
    this.counts[to] = 0;
    this.pendingBytes[to] = 0;
    if (!this.post(to, buf, count)) {
      this.stats.unroutable += count;
      return;
    }
    this.stats.batches_sent++;
    this.stats.messages_sent += count;
    this.stats.bytes_sent += bytes;
  }
}
