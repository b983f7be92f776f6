/**
 * How replica messages travel. A transport buffers what `send` gets, per peer,
 * and posts each peer's buffer as one array of flat tuples when `flush` is
 * called (once per actor turn) or when a buffer reaches `maxBatch` (so the
 * buffers stay bounded). Incoming batches go to the receiver unvalidated: the
 * driver decodes every element (the codec is the validation boundary).
 */
import type { NodeId } from '../paxos/ballot.js';
import type { Wire } from '../paxos/codec.js';

export type BatchReceiver = (from: NodeId, batch: unknown) => void;

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

export function wireBytes(w: Wire): number {
  let n = 0;
  for (const f of w) n += typeof f === 'number' ? 8 : f.length;
  return n;
}

/** Per-peer outgoing buffers with the bound and the accounting both transports share. */
export class Outbox {
  readonly stats = emptyTransportStats();
  private readonly buffers: Wire[][];
  private readonly dirty: NodeId[] = [];

  constructor(
    nodes: number,
    private readonly maxBatch: number,
    private readonly post: (to: NodeId, batch: Wire[]) => boolean,
  ) {
    this.buffers = Array.from({ length: nodes }, () => []);
  }

  add(to: NodeId, wire: Wire): void {
    const buf = this.buffers[to];
    if (buf === undefined) {
      this.stats.unroutable++;
      return;
    }
    if (buf.length === 0) this.dirty.push(to);
    buf.push(wire);
    if (buf.length >= this.maxBatch) this.flushPeer(to);
  }

  flush(): void {
    for (const to of this.dirty) this.flushPeer(to);
    this.dirty.length = 0;
  }

  private flushPeer(to: NodeId): void {
    const buf = this.buffers[to];
    if (buf === undefined || buf.length === 0) return;
    this.buffers[to] = [];
    if (!this.post(to, buf)) {
      this.stats.unroutable += buf.length;
      return;
    }
    this.stats.batches_sent++;
    this.stats.messages_sent += buf.length;
    for (const w of buf) this.stats.bytes_sent += wireBytes(w);
  }
}
