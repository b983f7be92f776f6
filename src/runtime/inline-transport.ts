/**
 * All replicas in one thread: a hub hands each flushed batch to the peer's
 * receiver on a later turn (setImmediate), never synchronously, so one
 * replica's step never re-enters another's. Used by `runtime: 'inline'` to
 * measure the protocol without thread hops.
 */
import type { NodeId } from '../paxos/ballot.js';
import type { Wire } from '../paxos/codec.js';
import { DEFAULT_MAX_BATCH, Outbox, type BatchReceiver, type Envelope, type Transport, type TransportStats } from './transport.js';

export class InlineHub {
  private readonly receivers: (BatchReceiver | null)[];
  private queue: { from: NodeId; to: NodeId; batch: Envelope }[] = [];
  private scheduled: NodeJS.Immediate | null = null;

  constructor(readonly nodes: number) {
    this.receivers = Array.from({ length: nodes }, () => null);
  }

  attach(id: NodeId, fn: BatchReceiver | null): void {
    this.receivers[id] = fn;
  }

  connected(id: NodeId): boolean {
    return this.receivers[id] !== null && this.receivers[id] !== undefined;
  }

  post(from: NodeId, to: NodeId, batch: Envelope): boolean {
    if (!this.connected(to)) return false;
    this.queue.push({ from, to, batch });
    this.scheduled ??= setImmediate(() => this.deliver());
    return true;
  }

  private deliver(): void {
    this.scheduled = null;
    const q = this.queue;
    this.queue = [];
    for (const { from, to, batch } of q) this.receivers[to]?.(from, batch);
  }

  close(): void {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.queue = [];
    this.receivers.fill(null);
  }
}

export class InlineTransport implements Transport {
  private readonly outbox: Outbox;

  constructor(
    readonly id: NodeId,
    private readonly hub: InlineHub,
    maxBatch = DEFAULT_MAX_BATCH,
  ) {
    this.outbox = new Outbox(hub.nodes, maxBatch, (to, batch) => hub.post(id, to, batch));
  }

  get stats(): TransportStats {
    return this.outbox.stats;
  }

  setReceiver(fn: BatchReceiver): void {
    this.hub.attach(this.id, fn);
  }

  send(to: NodeId, wire: Wire): void {
    this.outbox.add(to, wire);
  }

  flush(): void {
    this.outbox.flush();
  }

  close(): void {
    this.hub.attach(this.id, null);
  }
}
