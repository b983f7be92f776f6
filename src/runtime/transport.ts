/**
 * How replica messages travel. A transport buffers what `send` gets, per peer,
 * and posts each peer's buffer as ONE flat envelope
 * `[len, ...tuple, len, ...tuple, ...]` when `flush` is called (once per actor
 * turn) or when a buffer reaches `maxBatch` messages (so the buffers stay
 * bounded). Flat, because structured clone copies a flat array of numbers and
 * strings about twice as fast as an array of arrays: profiling the leader
 * showed postMessage as its largest cost with nested batches. Incoming
 * envelopes go to the receiver unvalidated: the driver splits them
 * (`forEachTuple`) and decodes every tuple (the codec is the validation boundary).
 */
import type { NodeId } from '../paxos/ballot.js';
import type { Wire } from '../paxos/codec.js';

export type BatchReceiver = (from: NodeId, batch: unknown) => void;

/** A peer's batch on the wire: `[len, ...tuple, len, ...tuple, ...]`. */
export type Envelope = (number | string)[];

/**
 * Calls `each` with every tuple of an envelope, in order. Returns null, or the
 * reason the envelope is malformed (then the rest of it is dropped: its
 * framing can no longer be trusted).
 */
export function forEachTuple(env: unknown, each: (tuple: unknown[]) => void): string | null {
  if (!Array.isArray(env)) return 'envelope is not an array';
  for (let i = 0; i < env.length; ) {
    const n: unknown = env[i];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || i + 1 + n > env.length) return `bad tuple length at ${i}`;
    each(env.slice(i + 1, i + 1 + n));
    i += 1 + n;
  }
  return null;
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

  constructor(
    nodes: number,
    private readonly maxBatch: number,
    private readonly post: (to: NodeId, envelope: Envelope, messages: number) => boolean,
    private readonly reuse = false,
  ) {
    this.buffers = Array.from({ length: nodes }, () => []);
    this.lengths = Array.from({ length: nodes }, () => 0);
    this.counts = Array.from({ length: nodes }, () => 0);
    this.pendingBytes = Array.from({ length: nodes }, () => 0);
  }

  add(to: NodeId, wire: Wire): void {
    const buf = this.buffers[to];
    if (buf === undefined) {
      this.stats.unroutable++;
      return;
    }
    const count = this.counts[to] ?? 0;
    if (count === 0) this.dirty.push(to);
    let n = this.lengths[to] ?? 0;
    buf[n++] = wire.length;
    let bytes = 0;
    for (let i = 0; i < wire.length; i++) {
      const f = wire[i] as number | string;
      buf[n++] = f;
      bytes += typeof f === 'number' ? 8 : f.length;
    }
    this.lengths[to] = n;
    this.pendingBytes[to] = (this.pendingBytes[to] ?? 0) + bytes;
    this.counts[to] = count + 1;
    if (count + 1 >= this.maxBatch) this.flushPeer(to);
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
